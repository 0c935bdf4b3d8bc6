"""Checks a running baseline server end to end.

    python smoke_test.py [--addr 127.0.0.1:50061] [--variant jieba]

Waits for health SERVING, then checks labels, offsets, the size limit,
Segment and GetModelInfo, and that the server reports the --variant it is
expected to run (server.py --variant; default jieba). Exits non-zero on the
first failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "gen"))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from fgf.v1 import tagger_pb2 as pb  # noqa: E402
from fgf.v1 import tagger_pb2_grpc as pb_grpc  # noqa: E402


def wait_serving(channel: grpc.Channel, timeout: float = 60.0) -> float:
    """Seconds until health reports SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    t0 = time.monotonic()
    while True:
        try:
            r = stub.Check(health_pb2.HealthCheckRequest(service="fgf.v1.Tagger"), timeout=1)
            if r.status == health_pb2.HealthCheckResponse.SERVING:
                return time.monotonic() - t0
        except grpc.RpcError:
            pass
        if time.monotonic() - t0 > timeout:
            raise SystemExit("server did not report SERVING in time")
        time.sleep(0.05)


def check_offsets(text: str, resp: pb.TagResponse) -> None:
    raw = text.encode("utf-8")
    for s in resp.spans:
        assert raw[s.start : s.end].decode("utf-8") == s.text, (s.start, s.end, s.text)
        assert text[s.char_start : s.char_end] == s.text, (s.char_start, s.char_end, s.text)
        assert s.role == pb.ROLE_BODY


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1:50061")
    ap.add_argument("--variant", default="jieba", help="the variant the server should report")
    args = ap.parse_args()
    version = f"python-baseline+{args.variant}"
    channel = grpc.insecure_channel(args.addr, options=[("grpc.max_send_message_length", -1)])
    print(f"SERVING after {wait_serving(channel):.2f} s")
    stub = pb_grpc.TaggerStub(channel)

    # 1. A one-sentence document about 双随机、一公开.
    text = "全面推行“双随机、一公开”监管。"
    r = stub.Tag(pb.TagRequest(id="doc-1", text=text))
    assert r.id == "doc-1" and r.model_version == version, r
    assert len(r.spans) == 1
    span = r.spans[0]
    themes = [(t.code, round(t.score, 3)) for t in span.themes]
    pillars = [(p.code, round(p.score, 3)) for p in span.pillars]
    print(f"{text}\n  themes {themes}\n  pillars {pillars}")
    assert span.themes and span.themes[0].code == "guan.random_inspection", themes
    assert [p.code for p in span.pillars] == ["guan"], pillars
    check_offsets(text, r)

    # 2. Offsets over mixed line endings, blank lines and surrounding spaces.
    text = "  一、深化“放管服”改革\r\n\r\n　推行“一网通办”，企业开办时间压缩至1个工作日。  \r最后一行\n"
    r = stub.Tag(pb.TagRequest(text=text))
    check_offsets(text, r)
    got = [(s.start, s.end, s.char_start, s.char_end, s.text) for s in r.spans]
    for g in got:
        print(f"  span {g}")
    assert [g[4] for g in got] == ["一、深化“放管服”改革", "推行“一网通办”，企业开办时间压缩至1个工作日。", "最后一行"]
    assert got[0][:4] == (2, 2 + len("一、深化“放管服”改革".encode()), 2, 13), got[0]
    assert r.summary.paragraphs == 3
    assert r.summary.body_chars == sum(g[3] - g[2] for g in got)

    # 3. Empty text: no spans. Oversized text: INVALID_ARGUMENT.
    assert not stub.Tag(pb.TagRequest(text="")).spans
    assert not stub.Tag(pb.TagRequest(text="\n \r\n")).spans
    try:
        stub.Tag(pb.TagRequest(text="放" * (4 * 1024 * 1024 // 3 + 1)))
        raise AssertionError("oversized document accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        print(f"  oversized: {e.code().name}: {e.details()}")

    # 4. Segment: tokens cover every non-whitespace char once, in order, with
    # offsets into the original text; domain words are flagged.
    text = "推行“一网通办”，\r\n　企业开办 1个工作日"
    tokens = stub.Segment(pb.SegmentRequest(text=text)).tokens
    raw = text.encode("utf-8")
    for t in tokens:
        assert text[t.char_start : t.char_end] == t.word, t
        assert raw[t.start : t.end].decode("utf-8") == t.word, t
    assert "".join(t.word for t in tokens) == "".join(text.split()), [t.word for t in tokens]
    assert any(t.word == "一网通办" and t.in_domain_dict for t in tokens), [t.word for t in tokens]
    print(f"  segment: {' '.join(t.word for t in tokens)}")

    # 5. GetModelInfo.
    info = stub.GetModelInfo(pb.GetModelInfoRequest())
    assert info.version == version and len(info.labels) == 22, info.version
    print(f"  model info: {info.version}, {len(info.labels)} labels, theme micro F1 {info.theme_micro.f1:.3f}")
    print("smoke test passed")


if __name__ == "__main__":
    main()
