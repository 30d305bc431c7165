"""ChainUP (asyncexch/chainup): the client, its wire format, reconcile and signing."""
