"""The HTTP edge: what turns a request into arguments for a use case and a result into a response — parsing
(request, body, forms and staged uploads, text rules applied as text enters), the envelope, client IP, CORS, the
one middleware, and which routes take uploads (upload_policy)."""
