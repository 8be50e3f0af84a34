"""The bench backend: a local stand-in for the cloud API, with a real S3 server (SeaweedFS)."""
