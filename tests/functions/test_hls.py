"""HLS adaptive streaming (issue #5) with the real ffmpeg on a short generated clip."""

from urllib.parse import urlparse

import pytest

from shared import db, jobs
from shared.media.hls import ladder_for
from shared.sql import jobs as jobs_sql
from tests.conftest import jpeg_bytes, media_files, multipart, video_bytes

ACCEPT = {"Accept": "*/*"}


@pytest.mark.parametrize("height,names", [(1080, ["240p", "360p", "720p", "1080p"]), (720, ["240p", "360p", "720p"]),
                                          (480, ["240p", "360p"]), (360, ["240p", "360p"]), (120, ["120p"])])
def test_the_ladder_goes_up_to_the_source_height_never_above(height, names):
    assert [r.name for r in ladder_for(height)] == names


@pytest.fixture
def streamed(client, make_user, auth):
    """A 640x360 clip published and fully processed: (owner headers, video as the API shows it)."""
    owner = make_user()
    headers = auth(owner)
    body, form_headers = multipart({"title": "hls"}, {
        "videoFile": ("v.mp4", video_bytes("mp4", seconds=6, size="640x360"), "video/mp4"),
        "thumbnail": ("t.jpg", jpeg_bytes(), "image/jpeg")})
    video = client.post("/api/v2/videos", body=body, headers={**headers, **form_headers}).json_body["data"]["video"]
    assert jobs.run_pending() >= 2  # probe, then transcode
    return headers, client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]


def _get(client, url):
    return client.get(url.split("testserver", 1)[1], headers=ACCEPT)


def test_a_processed_video_has_a_master_playlist_renditions_segments_and_a_poster(client, streamed):
    _, video = streamed
    assert video["processingStatus"] == "COMPLETED"

    master = _get(client, video["hlsUrl"])

    assert master.status_code == 200
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    lines = master.body.decode().splitlines()
    assert lines[0] == "#EXTM3U"
    variants = [lines[i + 1] for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF")]
    assert variants == ["240p/index.m3u8", "360p/index.m3u8"]
    assert any("RESOLUTION=640x360" in line for line in lines)
    base = video["hlsUrl"].rsplit("/", 1)[0]
    for variant in variants:
        playlist = _get(client, f"{base}/{variant}")
        assert playlist.status_code == 200
        text = playlist.body.decode()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text
        durations = [float(line.split(":")[1].rstrip(",")) for line in text.splitlines() if line.startswith("#EXTINF")]
        assert durations and max(durations) <= 4.5 and sum(durations) == pytest.approx(6.0, abs=0.3)
        first = next(line for line in text.splitlines() if line.endswith(".ts"))
        segment = _get(client, f"{base}/{variant.split('/')[0]}/{first}")
        assert segment.status_code == 200 and segment.headers["Content-Type"] == "video/mp2t"
        assert segment.body[:1] == b"\x47"  # MPEG-TS sync byte
    poster = _get(client, video["posterUrl"])
    assert poster.headers["Content-Type"] == "image/jpeg" and poster.body[:3] == b"\xff\xd8\xff"


def test_an_unpublished_stream_needs_the_signed_url_and_its_playlists_carry_the_signature(client, streamed):
    headers, video = streamed
    client.patch(f"/api/v2/videos/toggle/publish/{video['id']}", headers=headers)
    private = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]

    assert _get(client, video["hlsUrl"]).status_code == 404
    master = _get(client, private["hlsUrl"])
    assert master.status_code == 200
    query = urlparse(private["hlsUrl"]).query
    variant = next(line for line in master.body.decode().splitlines() if line.endswith(query))
    variant_playlist = _get(client, private["hlsUrl"].rsplit("/", 1)[0] + "/" + variant)
    assert variant_playlist.status_code == 200
    segment = next(line for line in variant_playlist.body.decode().splitlines() if ".ts?" in line)
    rendition = variant.split("/")[0]
    assert _get(client, private["hlsUrl"].rsplit("/", 1)[0] + f"/{rendition}/{segment}").status_code == 200
    assert _get(client, private["hlsUrl"].rsplit("/", 1)[0] + f"/{rendition}/{segment.split('?')[0]}").status_code == 404


def test_hls_paths_cannot_reach_other_files(client, streamed):
    _, video = streamed
    base = "/api/v2/media/hls/" + video["id"]

    for path in (f"{base}/..%2F..%2Fsecrets.json", f"{base}/240p/..%2Fmaster.m3u8", f"{base}/x/seg_000.ts",
                 "/api/v2/media/hls/not-a-uuid/master.m3u8"):
        assert client.get(path, headers=ACCEPT).status_code == 404, path


def test_a_failed_transcode_can_be_retried_by_its_owner_only(client, make_user, auth, streamed):
    headers, video = streamed
    source = next(p for p in media_files() if p.parent.name == "videos")
    good = source.read_bytes()
    source.write_bytes(good[: len(good) // 3])
    db.execute("UPDATE videos SET processing_status = 'PROCESSING'")
    jobs.enqueue("transcode_hls", {"video_id": video["id"]})
    jobs.run_pending()
    failed = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]
    assert failed["processingStatus"] == "FAILED" and failed["processingError"]
    retry = f"/api/v2/videos/{video['id']}/processing/retry"

    assert client.post(retry, headers=auth(make_user())).status_code == 403
    source.write_bytes(good)
    again = client.post(retry, headers=headers)
    assert (again.status_code, again.json_body["data"]["processingStatus"]) == (200, "PROCESSING")
    assert client.post(retry, headers=headers).status_code == 409  # only a failed video
    jobs.run_pending()
    assert client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["processingStatus"] == \
        "COMPLETED"


def test_deleting_a_video_removes_its_stream(client, streamed):
    headers, video = streamed
    assert any(p.parts[-3] == "hls" or "hls" in p.parts for p in media_files())

    client.delete(f"/api/v2/videos/{video['id']}", headers=headers)

    assert media_files() == []


def test_only_one_transcode_runs_at_a_time_and_an_abandoned_one_is_picked_up_again(make_user, make_video):
    with db.transaction():
        jobs.enqueue("transcode_hls", {"video_id": "00000000-0000-0000-0000-000000000001"})
        jobs.enqueue("transcode_hls", {"video_id": "00000000-0000-0000-0000-000000000002"})

    claimed = jobs_sql.claim(kinds=["transcode_hls"], exclusive=True)
    assert claimed is not None
    assert jobs_sql.claim(kinds=["transcode_hls"], exclusive=True) is None  # one is running: the other waits
    db.execute("UPDATE jobs SET updated_at = now() - interval '10 minutes' WHERE id = :id", id=claimed["id"])
    reclaimed = jobs_sql.claim(kinds=["transcode_hls"], exclusive=True)  # its worker died: picked up again
    assert reclaimed is not None and reclaimed["id"] == claimed["id"] and reclaimed["attempts"] == 2
