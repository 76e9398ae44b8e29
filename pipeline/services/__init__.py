"""Every write to the pipeline, one module per aggregate; import from here."""

from pipeline.services.accounts import (
    account_create,
    account_for_company,
    account_update,
    contact_create,
    contact_update,
    normalize_company_name,
)
from pipeline.services.activities import activity_complete, activity_log
from pipeline.services.deals import (
    DEAL_EDITABLE_FIELDS,
    deal_create,
    deal_lose,
    deal_move,
    deal_reopen,
    deal_update,
    gate_errors,
)

__all__ = [
    "DEAL_EDITABLE_FIELDS",
    "account_create",
    "account_for_company",
    "account_update",
    "activity_complete",
    "activity_log",
    "contact_create",
    "contact_update",
    "deal_create",
    "deal_lose",
    "deal_move",
    "deal_reopen",
    "deal_update",
    "gate_errors",
    "normalize_company_name",
]
