-- Resumable uploads (tus 1.0, issue #13): an upload made of chunks, any of which may be cut and sent again.
-- It is an `uploads` row like a direct upload's, so a finished one is registered as a video the same way
-- (videoUploadId / thumbnailUploadId). The bytes received so far are `received_bytes`; where they are kept
-- (a file on the staging disk of `assembly->>'node'`, or an object store's multipart upload) is `assembly`,
-- which only the storage adapter reads. A PATCH holds `patching_until` while it appends, so two requests for
-- one upload never write at once, and a request killed mid-way frees it when the lease lapses.
ALTER TABLE uploads
  ADD COLUMN protocol       text NOT NULL DEFAULT 'direct' CHECK (protocol IN ('direct', 'tus')),
  ADD COLUMN received_bytes bigint NOT NULL DEFAULT 0 CHECK (received_bytes >= 0),
  ADD COLUMN filename       text,
  ADD COLUMN assembly       jsonb,
  ADD COLUMN patching_until timestamptz,
  ADD CONSTRAINT uploads_received_within_declared CHECK (received_bytes <= declared_size);
