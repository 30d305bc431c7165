"""The loopback suite: the simulator served on 127.0.0.1, through both HTTP stacks."""
