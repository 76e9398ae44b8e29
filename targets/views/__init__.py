"""HTML pages of the targets app: the team dashboard and the quota editor with the planner."""
