"""Wire-protocol test servers built on the official client libraries' own codecs."""
