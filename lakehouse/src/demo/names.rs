//! Word lists and builders for plausible artist, album and track names.

use rand::Rng;
use rand::seq::SliceRandom;

const ADJECTIVES: &[&str] = &[
    "Silver", "Midnight", "Golden", "Quiet", "Electric", "Broken", "Velvet", "Wild", "Distant",
    "Neon", "Hollow", "Crimson", "Gentle", "Restless", "Paper", "Frozen", "Burning", "Lonely",
    "Northern", "Secret", "Sunny", "Slow", "Lucky", "Purple", "Faded", "Little", "Endless",
    "Honest", "Cosmic", "Sweet", "Dusty", "Blue", "Savage", "Tender", "Lazy", "Open", "Last",
];

const NOUNS: &[&str] = &[
    "River", "Heart", "Summer", "Light", "Echo", "Garden", "Highway", "Ocean", "Shadow", "Dream",
    "Mountain", "Window", "Fire", "Rain", "Horizon", "City", "Moon", "Road", "Signal", "Letter",
    "Season", "Mirror", "Storm", "Island", "Harbor", "Thunder", "Wave", "Morning", "Circle",
    "Desert", "Forest", "Engine", "Bridge", "Feather", "Orbit", "Lantern", "Canyon", "Tide",
];

const VERBS: &[&str] = &[
    "Running",
    "Falling",
    "Dancing",
    "Waiting",
    "Drifting",
    "Calling",
    "Breathing",
    "Shining",
    "Dreaming",
    "Holding",
    "Chasing",
    "Fading",
    "Singing",
    "Burning",
    "Rising",
    "Wandering",
];

const FIRST_NAMES: &[&str] = &[
    "Ana", "Leo", "Mia", "Noah", "Yuki", "Omar", "Lena", "Jonas", "Sofia", "Mateo", "Aiko", "Ravi",
    "Nora", "Felix", "Ines", "Kofi", "Elena", "Tariq", "Hana", "Luca", "Zoe", "Diego", "Maya",
    "Emil", "Priya", "Marco", "Ida", "Samuel", "Lucia", "Kenji", "Amara", "Oskar", "Chloe",
];

const LAST_NAMES: &[&str] = &[
    "Rivera",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Kowalski",
    "Haddad",
    "Silva",
    "Novak",
    "Brennan",
    "Sato",
    "Fischer",
    "Costa",
    "Nakamura",
    "Dubois",
    "Ferreira",
    "Kaur",
    "Jensen",
    "Alvarez",
    "Petrov",
    "Mensah",
    "Ito",
    "Laurent",
    "Schmidt",
    "Park",
    "Romano",
    "Berg",
];

fn pick<'a, R: Rng>(rng: &mut R, words: &[&'a str]) -> &'a str {
    words.choose(rng).copied().unwrap_or("Echo")
}

/// A solo artist ("Nora Lindqvist"), a band ("The Velvet Harbors") or a moniker ("DJ Orbit").
pub fn artist_name<R: Rng>(rng: &mut R) -> String {
    match rng.gen_range(0..10) {
        0..=4 => format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES)),
        5..=7 => format!("The {} {}s", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        8 => format!("DJ {}", pick(rng, NOUNS)),
        _ => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
    }
}

/// An album title.
pub fn album_name<R: Rng>(rng: &mut R) -> String {
    match rng.gen_range(0..6) {
        0 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        1 => format!("{}s", pick(rng, NOUNS)),
        2 => format!("The {} Sessions", pick(rng, NOUNS)),
        3 => format!("{} of the {}", pick(rng, NOUNS), pick(rng, NOUNS)),
        4 => format!("Songs for a {} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        _ => format!("{} (Deluxe Edition)", pick(rng, NOUNS)),
    }
}

/// A track title, sometimes with the decorations real catalogues carry.
pub fn track_name<R: Rng>(rng: &mut R) -> String {
    let base = match rng.gen_range(0..7) {
        0 | 1 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, NOUNS)),
        2 => format!("{} in the {}", pick(rng, VERBS), pick(rng, NOUNS)),
        3 => format!("{}, {}", pick(rng, NOUNS), pick(rng, NOUNS)),
        4 => pick(rng, NOUNS).to_owned(),
        5 => format!("{} \"{}\"", pick(rng, VERBS), pick(rng, NOUNS)),
        _ => format!("{} {}", pick(rng, VERBS), pick(rng, ADJECTIVES)),
    };
    match rng.gen_range(0..20) {
        0 => format!("{base} - Remastered"),
        1 => format!("{base} - Acoustic"),
        2 => format!("{base} (Live)"),
        _ => base,
    }
}
