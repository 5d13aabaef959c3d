"""Every side effect of a case: the workflow asks, these functions touch the world."""
