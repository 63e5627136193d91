"""Sessions, versioned artifacts and their blobs, execution records and replay."""
