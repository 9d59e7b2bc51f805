"""Captions (issue #17, point 3): WebVTT and SubRip uploads per language, checked line by line, listed on the video,
served as text/vtt with the video's visibility, and offered to HLS players as a SUBTITLES group of the master."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from shared import db
from shared.media.master_playlist import SubtitleTrack, with_subtitles
from shared.settings import get_settings, reset_settings
from shared.sql import videos as videos_sql
from tests.conftest import multipart

VTT = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nHello there\n\n2\n00:00:05.000 --> 00:00:08.500 align:start\nBye\n"
SRT = ("1\r\n00:00:01,000 --> 00:00:04,000\r\n<font color=\"#fff\">Hello</font> <i>there</i> & you\r\n\r\n"
       "2\r\n00:00:05,250 --> 00:00:08,500\r\nA --> B\r\n")
ACCEPT = {"Accept": "*/*"}


def _put(client, video_id, language, body, headers, content_type="text/vtt", query=""):
    data = body.encode() if isinstance(body, str) else body
    return client.put(f"/api/v2/videos/{video_id}/captions/{language}{query}",
                      headers={**headers, "Content-Type": content_type}, body=data)


def _local(url: str) -> str:
    """A URL the API handed out, as the test client's path (and query)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_an_owner_adds_webvtt_and_viewers_read_it_as_text_vtt_with_an_etag(client, make_user, make_video, auth):
    owner, viewer = make_user(), make_user()
    video = make_video(owner)

    created = _put(client, video["id"], "en", VTT, auth(owner), query="?label=English")
    replaced = _put(client, video["id"], "en", VTT.replace("Bye", "Goodbye"), auth(owner), query="?label=English")
    served = client.get(f"/api/v2/videos/{video['id']}/captions/en", headers={**auth(viewer), **ACCEPT})
    again = client.get(f"/api/v2/videos/{video['id']}/captions/en",
                       headers={**auth(viewer), **ACCEPT, "If-None-Match": served.headers["ETag"]})

    assert created.status_code == 201, created.json_body
    saved = created.json_body["data"]
    assert (saved["language"], saved["label"], saved["cues"], saved["size"]) == ("en", "English", 2, len(VTT))
    assert replaced.status_code == 200
    assert served.status_code == 200 and served.headers["Content-Type"] == "text/vtt; charset=utf-8"
    assert served.body.decode() == VTT.replace("Bye", "Goodbye")
    assert again.status_code == 304 and again.body in (b"", "")
    listed = client.get(f"/api/v2/videos/{video['id']}/captions", headers=auth(viewer)).json_body["data"]
    detail = client.get(f"/api/v2/videos/{video['id']}", headers=auth(viewer)).json_body["data"]
    assert [(t["language"], t["label"]) for t in listed] == [("en", "English")]
    assert detail["captions"] == listed
    track = client.get(_local(listed[0]["url"]), headers=ACCEPT)  # what a <track> element fetches: no token
    assert track.status_code == 200 and track.body.decode() == VTT.replace("Bye", "Goodbye")


def test_subrip_is_stored_as_webvtt_whether_sent_raw_or_as_a_form_field(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)
    body, form_headers = multipart({"label": "Français"}, {"captionFile": ("subs.srt", SRT.encode(), "text/plain")})

    raw = _put(client, video["id"], "de", SRT, auth(owner), content_type="application/x-subrip")
    form = client.put(f"/api/v2/videos/{video['id']}/captions/fr", headers={**auth(owner), **form_headers},
                      body=body)

    assert raw.status_code == 201 and form.status_code == 201, (raw.json_body, form.json_body)
    assert form.json_body["data"]["label"] == "Français" and raw.json_body["data"]["label"] == "de"
    expected = ("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.000\nHello <i>there</i> &amp; you\n\n"
                "2\n00:00:05.250 --> 00:00:08.500\nA --&gt; B\n")
    for language in ("de", "fr"):
        served = client.get(f"/api/v2/videos/{video['id']}/captions/{language}", headers={**auth(owner), **ACCEPT})
        assert served.body.decode() == expected


PARSE_ERRORS = [  # (content type, body, the line named, words of the message)
    ("text/vtt", "1\n00:00:01.000 --> 00:00:02.000\nno signature\n", 1, "must start with the line WEBVTT"),
    ("text/vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nok\n\n00:03.000 -> 00:04.000\nbroken arrow\n", 6,
     "expected a cue timing line"),
    ("text/vtt", "WEBVTT\n\ncue-1\n00:00:05.000 --> 00:00:01.000\nbackwards\n", 4, "ends before it starts"),
    ("text/vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nline one\n00:02.000 --> 00:03.000\n", 5, "may not contain '-->'"),
    ("text/vtt", "WEBVTT\n\n00:01.000 --> 00:02.000 align=start\nbad setting\n", 3, "is not name:value"),
    ("text/vtt", "WEBVTT\n\nNOTE only a comment\n", 4, "no cues"),
    ("application/x-subrip", "1\n00:00:01,000 --> 00:00:02,000\nfine\n\n2\n00:00:03 --> 00:00:04,000\nbad\n", 6,
     "expected a timing line"),
    ("application/x-subrip", b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe broken\n", 3, "not UTF-8"),
    ("text/vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nnul \x00 here\n", 4, "NUL"),
]


def test_a_file_that_does_not_parse_is_a_400_naming_its_line(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)

    for content_type, body, line, words in PARSE_ERRORS:
        refused = _put(client, video["id"], "en", body, auth(owner), content_type=content_type)

        assert refused.status_code == 400, refused.json_body
        message = refused.json_body["message"]
        assert f"line {line}:" in message and words in message, (body, message)
    assert client.get(f"/api/v2/videos/{video['id']}/captions", headers=auth(owner)).json_body["data"] == []


def test_caption_files_are_size_capped_and_typed(client, make_user, make_video, auth, monkeypatch):
    monkeypatch.setenv("MAX_CAPTION_BYTES", "2048")
    reset_settings()
    owner = make_user()
    video = make_video(owner)
    cue = "00:00:01.000 --> 00:00:02.000\nwords words words\n\n"
    fits = "WEBVTT\n\n" + cue * ((2048 - 8) // len(cue))
    big = "WEBVTT\n\n" + cue * 60
    form, form_headers = multipart({}, {"captionFile": ("big.vtt", big.encode(), "text/vtt")})

    assert get_settings().max_caption_bytes == 2048 and len(fits) <= 2048 < len(big)
    assert _put(client, video["id"], "en", fits, auth(owner)).status_code == 201
    too_big = _put(client, video["id"], "en", big, auth(owner))
    assert too_big.status_code == 413 and "limit is 2,048 bytes" in too_big.json_body["message"]
    as_form = client.put(f"/api/v2/videos/{video['id']}/captions/en", headers={**auth(owner), **form_headers},
                         body=form)
    assert as_form.status_code == 413
    assert _put(client, video["id"], "en", VTT, auth(owner), content_type="text/plain").status_code == 415
    assert _put(client, video["id"], "en", " \n", auth(owner)).status_code == 400
    no_file, no_file_headers = multipart({"label": "x"}, {})
    missing = client.put(f"/api/v2/videos/{video['id']}/captions/en", headers={**auth(owner), **no_file_headers},
                         body=no_file)
    assert missing.status_code == 400 and "captionFile" in missing.json_body["message"]
    long_label = _put(client, video["id"], "en", VTT, auth(owner), query="?label=" + "x" * 101)
    assert long_label.status_code == 422


def test_language_tags_are_normalised_and_a_tag_that_names_no_language_is_a_400(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)

    for sent, stored in [("en_us", "en-US"), ("PT-br", "pt-BR"), ("zh-hant", "zh-Hant"), ("iw", "he"),
                         ("sr-Latn-RS", "sr-Latn-RS"), ("es-419", "es-419")]:
        saved = _put(client, video["id"], sent, VTT, auth(owner))

        assert saved.status_code == 201 and saved.json_body["data"]["language"] == stored, (sent, saved.json_body)
        # the same track, however the tag is spelt
        again = client.get(f"/api/v2/videos/{video['id']}/captions/{sent}", headers={**auth(owner), **ACCEPT})
        assert again.status_code == 200
    for tag in ["english", "und", "x-private", "e", "en--us", "a" * 40, "en%00", "12", "zz"]:
        refused = _put(client, video["id"], tag, VTT, auth(owner))

        assert refused.status_code == 400 and "language" in refused.json_body["message"], (tag, refused.json_body)


def test_the_owner_manages_captions_and_viewers_read_them_as_they_may_the_video(client, make_user, make_video, auth):
    owner, other = make_user(), make_user()
    public, private = make_video(owner), make_video(owner, published=False)
    unlisted = make_video(owner)
    db.execute("UPDATE videos SET privacy = 'unlisted' WHERE id = :id", id=unlisted["id"])
    for video in (public, private, unlisted):
        assert _put(client, video["id"], "en", VTT, auth(owner)).status_code == 201

    assert _put(client, public["id"], "en", VTT, auth(other)).status_code == 403
    assert client.delete(f"/api/v2/videos/{public['id']}/captions/en", headers=auth(other)).status_code == 403
    for path in (f"/api/v2/videos/{private['id']}/captions", f"/api/v2/videos/{private['id']}/captions/en"):
        hidden = client.get(path, headers={**auth(other), **ACCEPT})
        assert hidden.status_code == 404 and hidden.json_body["message"] == "Video not found"
    assert _put(client, private["id"], "fr", VTT, auth(other)).status_code == 404
    assert client.get(f"/api/v2/videos/{unlisted['id']}/captions/en",
                      headers={**auth(other), **ACCEPT}).status_code == 200
    # The media URL of a video that is not public is signed: unsigned, it does not exist.
    track_url = client.get(f"/api/v2/videos/{private['id']}/captions", headers=auth(owner)).json_body["data"][0]["url"]
    assert "signature=" in track_url and client.get(_local(track_url), headers=ACCEPT).status_code == 200
    assert client.get(_local(track_url).split("?")[0], headers=ACCEPT).status_code == 404
    forged = re.sub(r"signature=\w+", "signature=" + "0" * 64, _local(track_url))
    assert client.get(forged, headers=ACCEPT).status_code == 404
    # A signature that is not ASCII, or an expiry in digits that are not ASCII ones: refused, never a 500.
    hostile = re.sub(r"signature=\w+", "signature=%C3%A5%C3%88c%1C", _local(track_url))
    assert client.get(hostile, headers=ACCEPT).status_code == 404
    assert client.get(re.sub(r"expires=\d+", "expires=%C2%B2", _local(track_url)), headers=ACCEPT).status_code == 404


def test_deleting_a_track_removes_it_from_the_video(client, make_user, make_video, auth):
    owner = make_user()
    video = make_video(owner)
    _put(client, video["id"], "en", VTT, auth(owner))
    _put(client, video["id"], "fr", VTT, auth(owner))

    deleted = client.delete(f"/api/v2/videos/{video['id']}/captions/en", headers=auth(owner))
    again = client.delete(f"/api/v2/videos/{video['id']}/captions/en", headers=auth(owner))

    assert deleted.status_code == 200 and again.status_code == 404
    assert again.json_body["message"] == "Caption not found"
    gone = client.get(f"/api/v2/videos/{video['id']}/captions/en", headers={**auth(owner), **ACCEPT})
    assert gone.status_code == 404 and gone.json_body["message"] == "Caption not found"
    detail = client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).json_body["data"]
    assert [t["language"] for t in detail["captions"]] == ["fr"]
    videos_sql.delete(video_id=video["id"], owner_id=owner["id"])
    assert db.fetch_value("SELECT count(*) FROM video_captions") == 0  # they go with the video


def test_concurrent_uploads_of_several_languages_all_reach_the_video(make_user, make_video):
    """Each write rewrites the video's list of tracks from the tracks themselves, under the video's row lock: without
    the lock, two writers that each read the list before the other committed would drop one of the tracks."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.auth import CurrentUser
    from shared.media.captions import CaptionUpload
    from shared.services import captions

    owner = make_user()
    video = make_video(owner)
    user = CurrentUser(id=owner["id"], session_id=owner["id"], profile={})
    languages = ["en", "fr", "de", "es", "it", "pt", "nl", "sv"]

    def upload(language: str) -> bool:
        return captions.put(user, video["id"], language, CaptionUpload(VTT.encode(), "vtt", ""))[1]

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(upload, languages))

    assert all(created)
    tracks = db.fetch_value("SELECT caption_tracks FROM videos WHERE id = :id", id=video["id"])
    assert [t["language"] for t in tracks] == sorted(languages)


# ------------------------------------------------------------------ HLS: the master carries a SUBTITLES group

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"\r\n]*"|[^",\s]+)(?:,|$)')
MASTER = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
          '#EXT-X-STREAM-INF:BANDWIDTH=560400,RESOLUTION=426x240,CODECS="avc1.4d4015,mp4a.40.2"\n240p/index.m3u8\n'
          '#EXT-X-STREAM-INF:BANDWIDTH=1001000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"\n360p/index.m3u8\n')
RENDITION = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
             "#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:4.000000,\nseg_000.ts\n#EXTINF:2.000000,\nseg_001.ts\n#EXT-X-ENDLIST\n")


def _attributes(line: str) -> dict[str, str]:
    """An attribute list as RFC 8216 §4.2 writes it; anything else fails the test."""
    text = line.split(":", 1)[1]
    found = _ATTRIBUTE.findall(text)
    assert ",".join(f"{k}={v}" for k, v in found) == text, f"not a valid attribute list: {line}"
    return {k: v.strip('"') for k, v in found}


def _parse_master(text: str) -> tuple[list[dict[str, str]], list[tuple[dict[str, str], str]]]:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    media = [_attributes(line) for line in lines if line.startswith("#EXT-X-MEDIA:")]
    variants = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            assert not lines[i + 1].startswith("#"), "a variant's URI line follows its EXT-X-STREAM-INF"
            variants.append((_attributes(line), lines[i + 1]))
    first_variant = next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:"))
    assert all(i < first_variant for i, line in enumerate(lines) if line.startswith("#EXT-X-MEDIA:"))
    return media, variants


@pytest.fixture
def streamed(make_user, make_video):
    """A video with an HLS stream published on the local store (files as ffmpeg writes them)."""
    def make(published: bool = True) -> tuple[dict, dict]:
        owner = make_user()
        video = make_video(owner, published=published)
        folder = get_settings().media_dir / "hls" / str(video["id"])
        for name in ("240p", "360p"):
            (folder / name).mkdir(parents=True)
            (folder / name / "index.m3u8").write_text(RENDITION)
            (folder / name / "seg_000.ts").write_bytes(b"G" * 188)
        (folder / "master.m3u8").write_text(MASTER)
        (folder / "poster.jpg").write_bytes(b"\xff\xd8\xff")
        videos_sql.set_stream(video_id=video["id"], hls_master_public_id=f"hls/{video['id']}/master.m3u8",
                              poster_public_id=f"hls/{video['id']}/poster.jpg")
        return owner, video
    return make


@pytest.mark.parametrize("published", [True, False])
def test_the_hls_master_offers_the_captions_as_a_subtitles_group(client, auth, streamed, published):
    owner, video = streamed(published)
    headers = auth(owner)
    before = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["hlsUrl"]
    _put(client, video["id"], "en", VTT, headers, query="?label=English")
    _put(client, video["id"], "pt-BR", VTT, headers, query="?label=Portugu%C3%AAs")

    hls_url = client.get(f"/api/v2/videos/{video['id']}", headers=headers).json_body["data"]["hlsUrl"]
    master = client.get(_local(hls_url), headers=ACCEPT)

    assert "/media/hls/" in before and "/media/captions/" in hls_url and hls_url != before
    assert ("signature=" in hls_url) is (not published)
    assert master.status_code == 200 and master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    media, variants = _parse_master(master.body.decode())
    assert [(m["TYPE"], m["GROUP-ID"], m["NAME"], m["LANGUAGE"], m["DEFAULT"], m["AUTOSELECT"]) for m in media] == [
        ("SUBTITLES", "subs", "English", "en", "NO", "YES"), ("SUBTITLES", "subs", "Português", "pt-BR", "NO", "YES")]
    assert [(v["SUBTITLES"], v["RESOLUTION"], v["CODECS"]) for v, _ in variants] == [
        ("subs", "426x240", "avc1.4d4015,mp4a.40.2"), ("subs", "640x360", "avc1.4d401e,mp4a.40.2")]
    for _, uri in variants:  # the renditions, reachable from where the master is now served
        rendition = client.get(_local(uri), headers=ACCEPT)
        assert rendition.status_code == 200 and "#EXT-X-ENDLIST" in rendition.body.decode(), uri
    for track in media:
        playlist = client.get(_local(track["URI"]), headers=ACCEPT)
        text = playlist.body.decode()
        assert playlist.status_code == 200 and text.startswith("#EXTM3U\n"), text
        assert "#EXT-X-TARGETDURATION:10\n" in text and "#EXTINF:10.000,\n" in text and "#EXT-X-ENDLIST" in text
        vtt_uri = next(line for line in text.splitlines() if line and not line.startswith("#"))
        assert ("signature=" in vtt_uri) is (not published)
        served = client.get(_local(vtt_uri), headers=ACCEPT)
        # the stream's clock starts where ffmpeg's MPEG-TS muxer starts it (1.4 s): the cues are tied to it
        assert served.status_code == 200 and served.body.decode() == VTT.replace(
            "WEBVTT\n", "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000\n", 1)
    if not published:  # without the signature, nothing of it exists
        assert client.get(_local(hls_url).split("?")[0], headers=ACCEPT).status_code == 404
        assert client.get(_local(media[0]["URI"]).split("?")[0], headers=ACCEPT).status_code == 404


def test_without_captions_the_stream_is_served_as_before(client, auth, streamed):
    owner, video = streamed(True)
    _put(client, video["id"], "en", VTT, auth(owner))
    client.delete(f"/api/v2/videos/{video['id']}/captions/en", headers=auth(owner))

    hls_url = client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).json_body["data"]["hlsUrl"]

    assert "/media/hls/" in hls_url
    assert client.get(f"/api/v2/media/captions/{video['id']}/en/index.m3u8", headers=ACCEPT).status_code == 404


def test_with_subtitles_is_idempotent_and_keeps_names_unique_and_quoted():
    tracks = [SubtitleTrack("en", "English", "en.m3u8"), SubtitleTrack("en-GB", "English", "gb.m3u8"),
              SubtitleTrack("fr", 'Le "bon"\nfrançais', "fr.m3u8")]

    once = with_subtitles(MASTER, tracks)
    twice = with_subtitles(once, tracks)
    growing = with_subtitles("#EXTM3U\n#EXT-X-VERSION:3\n", tracks[:1])  # no variant yet

    assert twice == once and with_subtitles(MASTER, []) == MASTER
    media, variants = _parse_master(once)
    assert [m["NAME"] for m in media] == ["English (en)", "English (en-GB)", "Le 'bon' français"]
    assert all(v["SUBTITLES"] == "subs" for v, _ in variants) and len(variants) == 2
    assert growing.splitlines()[-1].startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")


def test_put_caption_is_documented_with_its_form(client):
    spec = client.get("/api/v2/openapi.json").json_body
    put = spec["paths"]["/api/v2/videos/{video_id}/captions/{language}"]["put"]

    assert "captionFile" in json.dumps(put["requestBody"]["content"]["multipart/form-data"]["schema"])
    assert {"201", "200"} & set(put["responses"]) and "413" in put["responses"]


@pytest.mark.parametrize("published", [True, False])
def test_a_stream_kept_in_a_bucket_offers_its_captions_too(client, make_user, make_video, auth, s3_bucket, tmp_path,
                                                           published):
    """S3: a public stream's renditions stay where the bucket (or its CDN) serves them; a private one's come back to
    our media route with the stream's signature, and their segments are presigned."""
    import requests

    from shared.storage import get_storage

    owner = make_user()
    video = make_video(owner, published=published)
    work = tmp_path / "hls"
    for name in ("240p", "360p"):
        (work / name).mkdir(parents=True)
        (work / name / "index.m3u8").write_text(RENDITION)
        (work / name / "seg_000.ts").write_bytes(b"G" * 188)
        (work / name / "seg_001.ts").write_bytes(b"G" * 188)
    (work / "master.m3u8").write_text(MASTER)
    (work / "poster.jpg").write_bytes(b"\xff\xd8\xff")
    stream = get_storage().publish_hls(video["id"], work, private=not published)
    videos_sql.set_stream(video_id=video["id"], hls_master_public_id=stream.master_public_id,
                          poster_public_id=stream.poster_public_id)
    _put(client, video["id"], "en", VTT, auth(owner))

    hls_url = client.get(f"/api/v2/videos/{video['id']}", headers=auth(owner)).json_body["data"]["hlsUrl"]
    master = client.get(_local(hls_url), headers=ACCEPT)

    assert master.status_code == 200 and "/media/captions/" in hls_url
    media, variants = _parse_master(master.body.decode())
    assert [m["LANGUAGE"] for m in media] == ["en"] and all(v["SUBTITLES"] == "subs" for v, _ in variants)
    for _, uri in variants:
        if published:  # straight from the bucket, as anyone may read a published stream
            assert "/media/" not in uri
            rendition = requests.get(uri, timeout=10)
            assert rendition.status_code == 200 and "#EXT-X-ENDLIST" in rendition.text
        else:
            assert "/api/v2/media/hls/" in uri and "signature=" in uri
            text = client.get(_local(uri), headers=ACCEPT).body.decode()
            segments = [line for line in text.splitlines() if line and not line.startswith("#")]
            assert segments and all("X-Amz-Signature=" in s for s in segments)
            assert requests.get(segments[0], timeout=10).status_code == 200
