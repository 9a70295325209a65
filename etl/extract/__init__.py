"""Extract: find the files to load (`discover`), tell a file by its content (`identity`: SHA-256, size,
head), sniff its layout and reject what cannot be read at all (`layout`), and stream its rows as text in
bounded chunks with exact line numbers (`reader`; raw S3 objects through `s3`)."""
