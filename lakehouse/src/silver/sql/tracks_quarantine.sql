-- silver/tracks_quarantine: every bronze catalogue row that failed validation, exactly as it
-- arrived, with the reason it was set aside.
SELECT
    t.rejection AS reason,
    b.*
FROM typed_tracks AS t
JOIN bronze_tracks AS b
    ON b.batch_id = t.batch_id AND b.line_number = t.line_number
WHERE t.rejection IS NOT NULL
ORDER BY b.source_file, b.line_number
