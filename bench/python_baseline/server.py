"""The Python baseline behind gRPC: fgf.v1.Tagger on grpc.aio.

    python server.py [--addr 127.0.0.1:50061] [--workers N] [--model model.pkl]
                     [--variant jieba|rjieba|rjieba-stacked|jieba-stacked]

Implements Tag and TagStream (paragraph spans, labels, summary), Segment
(jieba tokens with offsets) and GetModelInfo, plus grpc.health.v1.Health,
which reports SERVING once the model is loaded and the port is bound: a
benchmark can take "time until health SERVING" as start-up time.

--workers N forks N processes, each loading the model and running its own
asyncio server on the same port (SO_REUSEPORT; the kernel spreads
connections over them). That is the usual way to use several cores for
CPU-bound Python, since one interpreter runs Python code on one core at a
time. Inside a worker the tagging runs inline on the event loop: handing it
to a thread pool would only add overhead under the GIL.

--variant picks how model.pkl is run (see fgf_baseline.VARIANTS; default
jieba, the committed behaviour). Tag responses and GetModelInfo report it in
the model version, e.g. "python-baseline+rjieba-stacked".
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "gen"))  # generated stubs (setup.sh)

import grpc  # noqa: E402
from grpc_health.v1 import health, health_pb2, health_pb2_grpc  # noqa: E402

from fgf.v1 import tagger_pb2 as pb  # noqa: E402
from fgf.v1 import tagger_pb2_grpc as pb_grpc  # noqa: E402

import fgf_baseline  # noqa: E402
from fgf_baseline import DEFAULT_MAX_DOC_BYTES, ByteOffsets, Model, split_paragraphs  # noqa: E402

SERVICE_NAME = "fgf.v1.Tagger"


class RequestError(Exception):
    """A request the server refuses: a gRPC status code and a message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Tagger(pb_grpc.TaggerServicer):
    def __init__(self, model: Model, max_doc_bytes: int):
        self.model = model
        self.max_doc_bytes = max_doc_bytes

    # -- request checks ----------------------------------------------------

    def _check_size(self, text: str) -> None:
        # A str of n code points is at most 4n UTF-8 bytes: only encode when
        # the document might be over the limit.
        if len(text) * 4 > self.max_doc_bytes:
            size = len(text.encode("utf-8"))
            if size > self.max_doc_bytes:
                raise RequestError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"text is {size} bytes; the limit is {self.max_doc_bytes} bytes "
                    "(--max-doc-bytes): split the document",
                )

    def _check(self, req: pb.TagRequest) -> None:
        self._check_size(req.text)
        if req.granularity == pb.GRANULARITY_SENTENCE:
            raise RequestError(grpc.StatusCode.UNIMPLEMENTED, "the Python baseline has no sentence spans")
        if req.granularity not in (pb.GRANULARITY_UNSPECIFIED, pb.GRANULARITY_PARAGRAPH):
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"granularity {req.granularity} is not a Granularity value; use 1 (PARAGRAPH)",
            )
        if math.isnan(req.threshold) or not 0.0 <= req.threshold <= 1.0:
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"threshold {req.threshold} is outside [0, 1]; use 0 for the model's defaults",
            )
        # Every line mode is accepted (UNSPECIFIED, 0, means REFLOW, as in the
        # Rust server); the baseline always makes one paragraph per non-empty
        # line (LINE_MODE_LINES).
        if req.line_mode not in (pb.LINE_MODE_UNSPECIFIED, pb.LINE_MODE_REFLOW, pb.LINE_MODE_LINES):
            raise RequestError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"line_mode {req.line_mode} is not a LineMode value; use 0 or 2 (REFLOW) or 1 (LINES)",
            )
        if req.include_evidence:
            raise RequestError(grpc.StatusCode.UNIMPLEMENTED, "the Python baseline has no evidence")

    # -- tagging -------------------------------------------------------------

    def _tag(self, req: pb.TagRequest) -> pb.TagResponse:
        self._check(req)
        model = self.model
        paragraphs = split_paragraphs(req.text)
        resp = pb.TagResponse(id=req.id, model_version=model.version)
        if not paragraphs:
            return resp
        # The whole document in one transform + predict_proba (or stacked product).
        scores = model.scores([p.text for p in paragraphs])
        decided = model.decide(scores, req.threshold)

        codes, names = model.codes, model.names
        label_chars = [0] * len(codes)  # body chars under each label
        body_chars = 0
        spans = resp.spans
        for p, (pillars, themes) in zip(paragraphs, decided):
            chars = p.char_end - p.char_start
            body_chars += chars  # every paragraph is ROLE_BODY here
            for j, _ in pillars:
                label_chars[j] += chars
            for j, _ in themes:
                label_chars[j] += chars
            spans.add(
                start=p.start,
                end=p.end,
                char_start=p.char_start,
                char_end=p.char_end,
                text=p.text,
                role=pb.ROLE_BODY,
                pillars=[pb.LabelScore(code=codes[j], name=names[j], score=s) for j, s in pillars],
                themes=[pb.LabelScore(code=codes[j], name=names[j], score=s) for j, s in themes],
            )

        # Document summary: share of the body text under each label, largest
        # first (ties in taxonomy order).
        summary = resp.summary
        summary.paragraphs = len(paragraphs)
        summary.body_chars = body_chars
        n_pillars = model.n_pillars
        for j in sorted(range(len(codes)), key=lambda j: -label_chars[j]):
            if label_chars[j]:
                share = (summary.pillars if j < n_pillars else summary.themes).add()
                share.code, share.name = codes[j], names[j]
                share.chars = label_chars[j]
                share.share = label_chars[j] / body_chars
        return resp

    # -- RPCs ----------------------------------------------------------------

    async def Tag(self, request, context):
        try:
            return self._tag(request)
        except RequestError as e:
            await context.abort(e.code, e.message)

    async def TagStream(self, request_iterator, context):
        # One response per request, in order; a rejected document gets
        # `error` and no spans, and the stream goes on.
        async for request in request_iterator:
            try:
                yield self._tag(request)
            except RequestError as e:
                yield pb.TagResponse(
                    id=request.id,
                    model_version=self.model.version,
                    error=pb.TagError(code=e.code.value[0], message=e.message),
                )

    async def Segment(self, request, context):
        try:
            self._check_size(request.text)
        except RequestError as e:
            await context.abort(e.code, e.message)
        # jieba (or rjieba, as --variant says) over the normalised text;
        # normalisation maps char for char, so its offsets are offsets into
        # the original. (The Rust server also converts traditional to
        # simplified and glues words split by whitespace; the baseline does
        # neither.)
        text = request.text
        bytes_at = ByteOffsets(text)
        domain = self.model.domain_words
        resp = pb.SegmentResponse()
        for word, cs, ce in fgf_baseline.cut_spans(fgf_baseline.normalise(text)):
            if word.isspace():
                continue
            resp.tokens.add(
                word=text[cs:ce],
                start=bytes_at.at(cs),
                end=bytes_at.at(ce),
                char_start=cs,
                char_end=ce,
                in_domain_dict=word in domain,
            )
        return resp

    async def GetModelInfo(self, request, context):
        b = self.model.bundle
        test = b["test"]

        def metrics(m: dict) -> pb.LabelMetrics:
            return pb.LabelMetrics(precision=m["precision"], recall=m["recall"], f1=m["f1"], support=m["support"])

        return pb.ModelInfo(
            version=self.model.version,
            trained_at=b["trained_at"],
            train_samples=b["train_samples"],
            test_samples=b["test_samples"],
            labels=[
                pb.LabelInfo(
                    code=label["code"],
                    name=label["name"],
                    pillar=label["pillar"],
                    threshold=b["thresholds"][j],
                    train_support=b["train_support"][j],
                    test=metrics(test["labels"][j]),
                )
                for j, label in enumerate(b["labels"])
            ],
            vocabulary_size=len(self.model.vectorizer.vocabulary_),
            dictionary_terms=len(b["dict_entries"]),
            pillar_micro=metrics(test["pillar_micro"]),
            theme_micro=metrics(test["theme_micro"]),
            theme_macro=metrics(test["theme_macro"]),
            max_doc_bytes=self.max_doc_bytes,
            corpus_fingerprint=b["corpus_fingerprint"],
        )


async def serve(args, on_ready) -> None:
    """Loads the model, binds, reports SERVING, calls on_ready() and runs
    until SIGTERM or SIGINT."""
    model = Model.load(args.model, args.variant)
    server = grpc.aio.server(
        options=[
            # Workers share the port; a single server owns it alone, so that
            # a second one started by mistake fails to bind.
            ("grpc.so_reuseport", 1 if args.workers > 1 else 0),
            # Room for the largest accepted document plus framing, so an
            # oversized one gets our INVALID_ARGUMENT (as in the Rust server).
            ("grpc.max_receive_message_length", args.max_doc_bytes + 1024 * 1024),
            ("grpc.max_send_message_length", -1),
        ]
    )
    pb_grpc.add_TaggerServicer_to_server(Tagger(model, args.max_doc_bytes), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # The model is loaded: SERVING from the first moment the port answers.
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    try:
        server.add_insecure_port(args.addr)
    except RuntimeError as e:  # gRPC's "Failed to bind to address ..."
        raise SystemExit(f"cannot listen on {args.addr}: {e}") from None
    await server.start()
    on_ready()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await health_servicer.enter_graceful_shutdown()
    await server.stop(grace=2)


def announce(addr: str, workers: int) -> None:
    suffix = f" ({workers} workers)" if workers > 1 else ""
    print(f"python baseline listening on {addr}{suffix}", flush=True)


def _worker(args, ready) -> None:
    """Body of one forked worker: serve, telling the parent when ready."""
    try:
        asyncio.run(serve(args, lambda: ready.put((os.getpid(), None))))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        ready.put((os.getpid(), f"{type(e).__name__}: {e}"))
        raise


def check_port_free(addr: str) -> None:
    """Exits when something already listens on `addr`. With SO_REUSEPORT the
    workers could otherwise join a stale server on the same port unnoticed."""
    host, _, port = addr.rpartition(":")
    host = host.strip("[]") or None
    if not port.isdigit() or int(port) == 0:
        raise SystemExit(f"--addr {addr}: --workers needs a fixed host:port")
    info = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    with socket.socket(info[0], info[1], info[2]) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does
        try:
            s.bind(info[4])
        except OSError as e:
            raise SystemExit(f"cannot listen on {addr}: {e.strerror}")


def run_workers(args) -> int:
    """Forks the workers, announces once all are serving, forwards SIGTERM
    and SIGINT to them, and ends them all when one exits."""
    check_port_free(args.addr)
    # Fork before any gRPC object exists in this process (gRPC's own
    # multiprocessing example does the same).
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(args, ready), daemon=False) for _ in range(args.workers)]
    for p in procs:
        p.start()

    def stop_all(*_):
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: graceful stop in the worker

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)

    def fail(message: str) -> int:
        print(message, file=sys.stderr, flush=True)
        stop_all()
        for p in procs:
            p.join()
        return 1

    pending = {p.pid for p in procs}
    while pending:
        try:
            pid, error = ready.get(timeout=0.2)
        except queue.Empty:
            dead = [p for p in procs if p.pid in pending and not p.is_alive()]
            if dead:
                return fail(f"worker {dead[0].pid} exited with code {dead[0].exitcode} before serving")
            continue
        if error is not None:
            return fail(f"worker {pid} failed: {error}")
        pending.discard(pid)
    announce(args.addr, args.workers)

    # Wait for the first worker to exit (a crash, or the SIGTERM above).
    multiprocessing.connection.wait([p.sentinel for p in procs])
    stop_all()
    for p in procs:
        p.join()
    return 0 if all(p.exitcode == 0 for p in procs) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", default="127.0.0.1:50061", help="host:port to listen on")
    ap.add_argument("--workers", type=int, default=1, help="server processes sharing the port (SO_REUSEPORT)")
    ap.add_argument("--model", type=Path, default=fgf_baseline.MODEL_PATH)
    ap.add_argument("--max-doc-bytes", type=int, default=DEFAULT_MAX_DOC_BYTES)
    ap.add_argument(
        "--variant",
        choices=fgf_baseline.VARIANTS,
        default=fgf_baseline.DEFAULT_VARIANT,
        help="segmenter and scoring (default: %(default)s, as committed)",
    )
    args = ap.parse_args()
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    if args.workers == 1:
        asyncio.run(serve(args, lambda: announce(args.addr, 1)))
        return 0
    return run_workers(args)


if __name__ == "__main__":
    sys.exit(main())
