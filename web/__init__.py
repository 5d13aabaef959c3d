"""Browser pages: the party's cabinet and the inspector's dashboard."""
