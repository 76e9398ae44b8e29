"""HTML pages of the pipeline: the board (``board``), deals (``deals``), accounts and contacts (``directory``)."""
