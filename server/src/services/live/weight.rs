//! Roughly how many bytes a listener's kept state holds. The live lists' cache is bounded by
//! the sum of these, so that neither many listeners nor a few with long lists or much feedback
//! grow it past its budget.

use chrono::{DateTime, Utc};
use lakehouse::gold::recommendations::{FeedbackRow, RecommendationRow};

use super::{LiveItem, SESSION_LENGTH, UserState};

/// What every kept listener costs besides what [`of`] counts item by item: the cache's own
/// entry, the shared state's allocation, and room for a follower's channel.
const ENTRY_BYTES: usize = 1024;
/// The longest track id a play may carry (the ingest's limit).
const TRACK_ID_BYTES: usize = 128;

/// The bytes `user`'s `state` holds, its key included (at most `u32::MAX`). The session's
/// plays are counted at their most, so that a listen, which adds one, needs no new weighing.
pub(super) fn of(user: &str, state: &UserState) -> u32 {
    let recent = SESSION_LENGTH * (size_of::<(String, DateTime<Utc>)>() + TRACK_ID_BYTES);
    let list = state.list.as_ref().map_or(0, |list| {
        list.user_id.len() + list.items.iter().map(item).sum::<usize>()
    });
    let base = state
        .base
        .as_ref()
        .map_or(0, |(_, rows)| rows.iter().map(row).sum());
    let feedback = state
        .feedback
        .as_ref()
        .map_or(0, |rows| rows.iter().map(said).sum());
    let total = ENTRY_BYTES + user.len() + size_of::<UserState>() + recent + list + base + feedback;
    u32::try_from(total).unwrap_or(u32::MAX)
}

fn texts(texts: &[String]) -> usize {
    texts.iter().map(|t| size_of::<String>() + t.len()).sum()
}

fn item(item: &LiveItem) -> usize {
    size_of::<LiveItem>()
        + item.track_id.len()
        + item.name.len()
        + item.reason.len()
        + texts(&item.artists)
}

fn row(row: &RecommendationRow) -> usize {
    size_of::<RecommendationRow>()
        + row.track_id.len()
        + row.name.len()
        + row.reason.len()
        + texts(&row.artists)
        + texts(&row.genres)
}

fn said(feedback: &FeedbackRow) -> usize {
    size_of::<FeedbackRow>()
        + feedback.target_type.len()
        + feedback.target_id.len()
        + feedback.kind.len()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_state_weighs_more_as_it_keeps_more() {
        let mut state = UserState::default();
        let empty = of("ana", &state);
        assert!(empty as usize >= ENTRY_BYTES + SESSION_LENGTH * TRACK_ID_BYTES);
        state.feedback = Some(Arc::new(
            (0..1_000)
                .map(|n| FeedbackRow {
                    target_type: "track".into(),
                    target_id: format!("track-{n:06}"),
                    kind: "like".into(),
                })
                .collect(),
        ));
        let with_feedback = of("ana", &state);
        assert!(
            with_feedback - empty >= 1_000 * 12,
            "{empty} then {with_feedback}"
        );
    }
}
