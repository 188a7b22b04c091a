"""pyxie-stirling."""
