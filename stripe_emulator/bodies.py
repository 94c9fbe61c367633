"""Reading request bodies with a size limit, checked before the body is held in memory."""

from starlette.requests import Request


class BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 once it is larger than `limit`: announced (Content-Length) or counted
    while it streams in (chunked), so a huge body is never read whole."""
    declared = request.headers.get('content-length')
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BodyRefused(400, 'The request has an invalid Content-Length header.')
        if int(declared) > limit:
            raise BodyRefused(413, f'The request body is larger than {limit // 1024} KiB.')
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyRefused(413, f'The request body is larger than {limit // 1024} KiB.')
        chunks.append(chunk)
    return b''.join(chunks)
