"""A player reporting to soundlake through liblistenbrainz, ListenBrainz's own Python client.

Reads SOUNDLAKE_URL, LB_TOKEN, LB_USER and LB_TRACKS (a JSON list of [artist, title,
spotify_id] from the catalogue); submits one `single` listen, one `playing_now` and an
`import` of four listens (one of a track no catalogue holds), reads the listens and what is
playing back, and prints what the client read as one JSON document.
"""

import json
import os
import time

from liblistenbrainz import Listen, ListenBrainz
from liblistenbrainz.errors import InvalidAuthTokenException


def main():
    client = ListenBrainz(api_base_url=os.environ["SOUNDLAKE_URL"])
    try:
        client.set_auth_token("sl_not-a-token", check_validity=True)
        invalid_token_refused = False
    except InvalidAuthTokenException:
        invalid_token_refused = True
    client.set_auth_token(os.environ["LB_TOKEN"], check_validity=True)

    tracks = json.loads(os.environ["LB_TRACKS"])
    now = int(time.time())
    artist, title, spotify_id = tracks[0]
    client.submit_single_listen(
        Listen(
            track_name=title,
            artist_name=artist,
            listened_at=now - 30,
            spotify_id=f"https://open.spotify.com/track/{spotify_id}",
            listening_from="soundlake test",
        )
    )
    artist, title, _ = tracks[1]
    client.submit_playing_now(
        Listen(track_name=title, artist_name=artist, additional_info={"duration_ms": 200000})
    )
    imported = [
        Listen(track_name=t, artist_name=a, listened_at=now - 3600 * (i + 1), release_name="An Album")
        for i, (a, t, _) in enumerate(tracks[2:5])
    ]
    imported.append(
        Listen(track_name="A Song Nobody Catalogued", artist_name="Unknown Band", listened_at=now - 86400)
    )
    client.submit_multiple_listens(imported)

    user = os.environ["LB_USER"]
    listens = client.get_listens(user, count=1000)
    playing = client.get_playing_now(user)
    print(
        json.dumps(
            {
                "invalid_token_refused": invalid_token_refused,
                "listens": [
                    {
                        "artist": l.artist_name,
                        "title": l.track_name,
                        "listened_at": l.listened_at,
                        "release": l.release_name,
                    }
                    for l in listens
                ],
                "playing_now": None
                if playing is None
                else {"artist": playing.artist_name, "title": playing.track_name},
            }
        )
    )


if __name__ == "__main__":
    main()
