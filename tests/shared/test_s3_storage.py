"""STORAGE=s3 (issue #13, point 1): the S3 store against moto in server mode, every byte fetched back over HTTP."""

import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from shared import errors
from shared.media.hls import transcode
from shared.media.probe import ProbeError, probe_video
from shared.settings import SettingsError, get_settings, load_settings
from shared.storage import s3 as s3_module
from shared.storage.base import SIGNED_URL_TTL
from tests.conftest import TEST_HOME, jpeg_bytes, png_bytes, video_bytes


def _file(tmp_path: Path, data: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _signed(url: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(url).query)


def _scratch() -> list[Path]:
    """What is left in scratch: anything but the (empty) folders each process keeps there for its work."""
    base = get_settings().scratch_dir
    return [entry for folder in base.iterdir() for entry in folder.iterdir()] if base.exists() else []


# ------------------------------------------------------------------------------ configuration


def test_s3_needs_a_bucket_and_a_known_addressing_style():
    with pytest.raises(SettingsError, match="STORAGE=s3 needs S3_BUCKET"):
        load_settings({"VIZTUBE_HOME": str(TEST_HOME), "STORAGE": "s3"})
    with pytest.raises(SettingsError, match="S3_ADDRESSING must be path or virtual"):
        load_settings({"VIZTUBE_HOME": str(TEST_HOME), "STORAGE": "s3", "S3_BUCKET": "b", "S3_ADDRESSING": "dns"})

    settings = load_settings({"VIZTUBE_HOME": str(TEST_HOME), "STORAGE": "s3", "S3_BUCKET": "b",
                              "MEDIA_BASE_URL": "https://cdn.example.com/"})

    assert (settings.s3_addressing, settings.media_base_url) == ("virtual", "https://cdn.example.com")


def test_the_store_is_remote_and_transcodes_through_us(s3_bucket):
    store = s3_bucket.use()

    assert (store.name, store.node_local, store.makes_own_streams) == ("s3", False, False)
    assert store.disk_file("videos/" + "a" * 32 + ".mp4") is None
    assert store.upload_signature_valid(uuid.uuid4(), "9999999999", "x") is False
    with pytest.raises(errors.NotFound):
        store.read_notification(b"{}", {})


# ------------------------------------------------------------------------------ storing and delivering


@pytest.mark.parametrize("addressing", ["path", "virtual"])
def test_a_saved_image_is_described_and_fetched_from_its_public_url(s3_bucket, tmp_path, addressing):
    store = s3_bucket.use(S3_ADDRESSING=addressing)
    data = png_bytes(8, 8)

    stored = store.save(_file(tmp_path, data), kind="avatar", mime="image/png")

    assert stored.public_id.startswith("avatars/") and stored.public_id.endswith(".png")
    assert s3_bucket.keys() == [stored.public_id]
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=stored.public_id)
    assert head["ContentType"] == "image/png" and "immutable" in head["CacheControl"]
    described = store.describe(stored.public_id, resource_type="image")
    assert (described.size, described.format) == (len(data), "png")
    port = urlparse(s3_bucket.endpoint).port
    expected = {"path": f"http://localhost:{port}/viztube-media/{stored.public_id}",
                "virtual": f"http://viztube-media.localhost:{port}/{stored.public_id}"}[addressing]
    assert stored.url == expected
    fetched = requests.get(stored.url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == data


@pytest.mark.parametrize("addressing", ["path", "virtual"])
def test_a_private_url_is_presigned_and_expires(s3_bucket, tmp_path, addressing):
    store = s3_bucket.use(S3_ADDRESSING=addressing)
    data = jpeg_bytes()
    stored = store.save(_file(tmp_path, data), kind="thumbnail", mime="image/jpeg")

    url = store.delivery_url(stored.public_id, resource_type="image", private=True, stored_url=stored.url)

    query = _signed(url)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == [str(SIGNED_URL_TTL)]
    assert query["X-Amz-Signature"][0] and url.split("?")[0] == stored.url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == data
    assert store.delivery_url(stored.public_id, resource_type="image", private=False,
                              stored_url="stale") == stored.url  # a public one is made afresh too


def test_media_base_url_fronts_published_media_but_never_unpublished_ones(s3_bucket, tmp_path):
    store = s3_bucket.use(MEDIA_BASE_URL="https://cdn.example.com/media/")
    stored = store.save(_file(tmp_path, jpeg_bytes()), kind="thumbnail", mime="image/jpeg")
    video_id = uuid.uuid4()
    master = f"hls/{video_id}/{'0' * 32}/master.m3u8"

    assert stored.url == f"https://cdn.example.com/media/{stored.public_id}"
    assert store.hls_url(master, private=False) == f"https://cdn.example.com/media/{master}"
    private = store.url_for(stored.public_id, resource_type="image", private=True)
    assert private.startswith(f"http://viztube-media.localhost:{urlparse(s3_bucket.endpoint).port}/")
    assert "X-Amz-Signature" in private
    assert requests.get(private, timeout=10).content == jpeg_bytes()


def test_a_video_is_probed_from_a_scratch_copy_that_is_then_removed(s3_bucket, tmp_path):
    store = s3_bucket.use()
    stored = store.save(_file(tmp_path, video_bytes("mp4")), kind="video", mime="video/mp4")

    described = store.describe(stored.public_id, resource_type="video")

    assert (described.format, described.width, described.height) == ("mp4", 160, 120)
    assert described.duration == pytest.approx(2.0, abs=0.1) and described.size == len(video_bytes("mp4"))
    assert _scratch() == []


def test_describe_answers_none_for_nothing_and_refuses_a_video_that_is_not_one(s3_bucket, tmp_path):
    store = s3_bucket.use()
    stored = store.save(_file(tmp_path, video_bytes("mp4")[:3000]), kind="video", mime="video/mp4")

    assert store.describe("videos/" + "b" * 32, resource_type="video") is None
    assert store.describe("../etc/passwd", resource_type="image") is None
    with pytest.raises(ProbeError):
        store.describe(stored.public_id, resource_type="video")
    assert _scratch() == []


def test_delete_removes_an_object_and_a_missing_one_is_no_error(s3_bucket, tmp_path):
    store = s3_bucket.use()
    kept = store.save(_file(tmp_path, png_bytes()), kind="avatar", mime="image/png")
    doomed = store.save(_file(tmp_path, png_bytes()), kind="avatar", mime="image/png")

    store.delete(doomed.public_id, resource_type="image")
    store.delete(doomed.public_id, resource_type="image")

    assert s3_bucket.keys() == [kept.public_id]


def test_deleting_a_stream_removes_every_object_under_it_page_after_page(s3_bucket, monkeypatch):
    store = s3_bucket.use()
    monkeypatch.setattr(s3_module, "LIST_PAGE", 2)  # as a stream of more than 1000 files spans listing pages
    video_id, other = uuid.uuid4(), uuid.uuid4()
    for n in range(7):
        s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"hls/{video_id}/{'1' * 32}/240p/seg_{n:04d}.ts",
                                    Body=b"G")
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=f"hls/{other}/{'2' * 32}/master.m3u8", Body=b"#EXTM3U")

    store.delete(store.stream_folder(video_id), resource_type="hls")
    store.delete("hls/", resource_type="hls")  # never a prefix wider than one video's stream

    assert s3_bucket.keys() == [f"hls/{other}/{'2' * 32}/master.m3u8"]


# ------------------------------------------------------------------------------ direct uploads


def test_a_presigned_put_stores_the_bytes_and_describe_reads_their_real_type(s3_bucket):
    store = s3_bucket.use(UPLOAD_TTL="10m")
    video_key, image_key = store.direct_upload_id("video"), store.direct_upload_id("thumbnail")
    assert video_key.startswith("videos/") and image_key.startswith("thumbnails/")

    signed = store.sign_upload(upload_id=uuid.uuid4(), public_id=video_key, kind="video", content_type="video/mp4")
    image = store.sign_upload(upload_id=uuid.uuid4(), public_id=image_key, kind="thumbnail",
                              content_type="image/jpeg")
    assert (signed.method, signed.headers, signed.public_id) == ("PUT", {"Content-Type": "video/mp4"}, video_key)
    assert _signed(signed.url)["X-Amz-Expires"] == ["600"]
    assert requests.put(signed.url, data=video_bytes("mp4"), headers=signed.headers, timeout=10).status_code == 200
    # declared a JPEG, sent a PNG: the bytes decide
    assert requests.put(image.url, data=png_bytes(), headers=image.headers, timeout=10).status_code == 200

    video = store.describe(video_key, resource_type="video")
    assert (video.format, video.size, video.width) == ("mp4", len(video_bytes("mp4")), 160)
    assert video.duration == pytest.approx(2.0, abs=0.1)
    assert store.describe(image_key, resource_type="image").format == "png"


# ------------------------------------------------------------------------------ HLS


def _hls_output(store, video_id: uuid.UUID, tmp_path: Path) -> Path:
    """A real HLS ladder of the test clip, written where the store wants it before publishing."""
    source = _file(tmp_path, video_bytes("mp4"), "source.mp4")
    work = store.hls_workdir(video_id)
    transcode(source, work, probe_video(source))
    return work


def test_publishing_a_stream_replaces_the_previous_generation_whole(s3_bucket, tmp_path):
    store = s3_bucket.use()
    video_id = uuid.uuid4()
    work = _hls_output(store, video_id, tmp_path)
    (work / "master.m3u8.tmp").write_text("an encoder's leftover")

    first = store.publish_hls(video_id, work, private=False)

    generation = first.master_public_id.rsplit("/", 1)[0]
    assert first.poster_public_id == f"{generation}/poster.jpg" and generation.startswith(f"hls/{video_id}/")
    keys = s3_bucket.keys()
    assert f"{generation}/120p/index.m3u8" in keys and any(k.endswith("seg_000.ts") for k in keys)
    assert not any(k.endswith(".tmp") for k in keys) and all(k.startswith(f"{generation}/") for k in keys)
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key=first.master_public_id)
    assert head["ContentType"] == "application/vnd.apple.mpegurl"
    assert not work.exists()

    second = store.publish_hls(video_id, _hls_output(store, video_id, tmp_path), private=False)

    new_generation = second.master_public_id.rsplit("/", 1)[0]
    assert new_generation != generation
    assert s3_bucket.keys() and all(k.startswith(f"{new_generation}/") for k in s3_bucket.keys())
    assert len(s3_bucket.keys()) == len(keys)  # the same ladder, and nothing of the first generation
    assert requests.get(store.hls_url(second.master_public_id, private=False), timeout=10).text.startswith("#EXTM3U")


def test_an_unpublished_streams_playlists_carry_presigned_segment_urls_that_fetch(s3_bucket, tmp_path):
    store = s3_bucket.use()
    video_id = uuid.uuid4()
    stream = store.publish_hls(video_id, _hls_output(store, video_id, tmp_path))

    url = store.hls_url(stream.master_public_id, private=True)

    assert url.startswith(f"http://testserver/api/v2/media/{stream.master_public_id}?expires=")
    query = _signed(url)
    expires, signature = query["expires"][0], query["signature"][0]
    signed_query = f"expires={expires}&signature={signature}"
    assert store.signed_url_valid(stream.master_public_id, expires, signature)
    assert not store.signed_url_valid(stream.master_public_id, expires, "0" * 64)
    assert not store.signed_url_valid(stream.master_public_id, "1", signature)
    master = store.stream_playlist(stream.master_public_id, signed_query=signed_query)
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert variants == [f"120p/index.m3u8?{signed_query}"]
    rendition = f"{stream.master_public_id.rsplit('/', 1)[0]}/120p/index.m3u8"
    assert store.signed_url_valid(rendition, expires, signature)  # one signature covers the whole stream
    playlist = store.stream_playlist(rendition, signed_query=signed_query)
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert segments and all("X-Amz-Signature=" in line for line in segments)
    for segment in segments:
        fetched = requests.get(segment, timeout=10)
        assert fetched.status_code == 200 and fetched.content[:1] == b"\x47"  # MPEG-TS sync byte
    assert "#EXT-X-ENDLIST" in playlist
    poster = store.poster_url(stream.poster_public_id, private=True)
    assert "X-Amz-Signature=" in poster and requests.get(poster, timeout=10).content[:3] == b"\xff\xd8\xff"
    assert store.stream_playlist(f"{rendition.rsplit('/', 1)[0]}/seg_000.ts", signed_query=signed_query) is None
    assert store.stream_playlist(f"hls/{video_id}/{'f' * 32}/master.m3u8", signed_query="") is None
