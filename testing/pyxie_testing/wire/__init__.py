"""Protocol test servers built on official client libraries' own codecs."""
