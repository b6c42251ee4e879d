"""The plugrpc demo: a Notes server and a client on loopback, printing what happens.

It goes through the four kinds of call, metadata both ways, a deadline, an error carrying
rich details (google.rpc.BadRequest), and a graceful stop that lets an in-flight call finish
while refusing new ones. Run it with ``hatch run demo``; no external service is needed.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "gen"))

import demo_pb2 as pb
import demo_plugrpc as rpc
import plugrpc
from google.rpc import error_details_pb2
from plugrpc_codec_proto import rich_status, status_details_bin


def say(text: str) -> None:
    print(text, flush=True)


class Notes(rpc.NotesBase):
    """A notebook kept in memory."""

    def __init__(self) -> None:
        self.notes: list[pb.Note] = []

    def _store(self, note: pb.Note) -> int:
        stored = pb.Note(id=len(self.notes) + 1, author=note.author, text=note.text)
        self.notes.append(stored)
        return stored.id

    async def Add(self, request: pb.Note, context: plugrpc.ServicerContext) -> pb.NoteId:
        user = context.invocation_metadata().get("x-user", "anonymous")
        await context.send_initial_metadata([("x-served-by", "notes-demo")])
        if not request.author:
            violation = error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field="author", description="a note needs an author"
                    )
                ]
            )
            await context.abort(
                plugrpc.StatusCode.INVALID_ARGUMENT,
                "the note has no author",
                status_details_bin=status_details_bin(
                    plugrpc.StatusCode.INVALID_ARGUMENT, "the note has no author", [violation]
                ),
            )
        if request.text.startswith("slow"):
            await asyncio.sleep(float(request.text.split()[-1]))
        note_id = self._store(request)
        context.set_trailing_metadata([("x-note-count", str(len(self.notes))), ("x-by", user)])
        return pb.NoteId(id=note_id)

    async def List(
        self, request: pb.ListRequest, context: plugrpc.ServicerContext
    ) -> AsyncIterator[pb.Note]:
        sent = 0
        for note in self.notes:
            if request.author and note.author != request.author:
                continue
            yield note
            sent += 1
            if request.limit and sent >= request.limit:
                return

    async def AddMany(
        self, request_iterator: AsyncIterator[pb.Note], context: plugrpc.ServicerContext
    ) -> pb.Summary:
        ids = [self._store(note) async for note in request_iterator]
        return pb.Summary(count=len(ids), ids=ids)

    async def Chat(
        self, request_iterator: AsyncIterator[pb.ChatMessage], context: plugrpc.ServicerContext
    ) -> AsyncIterator[pb.ChatMessage]:
        async for message in request_iterator:
            yield pb.ChatMessage(sender="server", text=f"heard {message.sender}: {message.text}")


async def main() -> int:
    server = plugrpc.Server([Notes()])
    port = await server.start("127.0.0.1:0")
    say(f"server: listening on 127.0.0.1:{port}")

    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = rpc.NotesStub(channel)

        say("\n1. unary call, metadata both ways")
        call = stub.Add(
            pb.Note(author="ada", text="HTTP/2 frames are cheap"),
            metadata=[("x-user", "ada")],
            timeout=5,
        )
        reply = await call
        initial = await call.initial_metadata()
        trailing = await call.trailing_metadata()
        say(
            f"   Add -> id {reply.id}; headers x-served-by={initial.get('x-served-by')}; "
            f"trailers x-note-count={trailing.get('x-note-count')} x-by={trailing.get('x-by')}"
        )

        say("\n2. client streaming")

        async def more_notes() -> AsyncIterator[pb.Note]:
            for text in ("pluggy finds plugins", "h2 speaks HTTP/2", "protobuf packs bytes"):
                yield pb.Note(author="grace", text=text)

        summary = await stub.AddMany(more_notes(), timeout=5)
        say(f"   AddMany -> stored {summary.count} notes, ids {list(summary.ids)}")

        say("\n3. server streaming")
        async for note in stub.List(pb.ListRequest(), timeout=5):
            say(f"   List -> #{note.id} {note.author}: {note.text}")

        say("\n4. bidirectional streaming")
        chat = stub.Chat(timeout=5)
        for text in ("hello", "how many notes?"):
            await chat.write(pb.ChatMessage(sender="ada", text=text))
            answer = await chat.read()
            say(f"   Chat -> {answer.sender}: {answer.text}")
        await chat.done_writing()
        say(f"   Chat ended with {(await chat.code()).name}")

        say("\n5. a deadline")
        try:
            await stub.Add(pb.Note(author="ada", text="slow 2"), timeout=0.3)
        except plugrpc.RpcError as err:
            say(f"   Add with a 0.3 s timeout on a 2 s handler -> {err.code().name}")

        say("\n6. an error with rich details")
        try:
            await stub.Add(pb.Note(text="who wrote me?"), timeout=5)
        except plugrpc.RpcError as err:
            status = rich_status(err)
            say(f"   Add without an author -> {err.code().name}: {err.details()}")
            if status is not None:
                for detail in status.details:
                    bad_request = error_details_pb2.BadRequest()
                    if detail.Unpack(bad_request):
                        for violation in bad_request.field_violations:
                            field = violation.field
                            say(f"   rich detail: field {field!r}: {violation.description}")

        say("\n7. graceful stop")
        in_flight = asyncio.ensure_future(
            stub.Add(pb.Note(author="ada", text="slow 0.5"), timeout=10)
        )
        await asyncio.sleep(0.1)
        stopping = asyncio.ensure_future(server.stop(grace=5))
        await asyncio.sleep(0.1)
        try:
            await stub.Add(pb.Note(author="late", text="too late"), timeout=2)
            say("   a new call during the stop was served (unexpected)")
        except plugrpc.RpcError as err:
            say(f"   a new call during the stop -> {err.code().name}")
        reply = await in_flight
        say(f"   the in-flight call finished during the grace period -> id {reply.id}")
        await stopping
        say("   server stopped")
    say("\ndemo complete")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
