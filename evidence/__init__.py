"""Evidence a party submits: the content-addressed file store, media-type sniffing and
detached CMS signature verification."""
