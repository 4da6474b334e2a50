//! `soundlake demo ...`: the data the demo is made from.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use lakehouse::demo::genre_profiles;

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(subcommand)]
    what: DemoCommand,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Compute the per-genre statistics the demo catalogue is generated from, from a catalogue
    /// in the Spotify Tracks Dataset's columns (a CSV file or a folder of them), and print them
    /// as CSV, the form of `lakehouse/src/demo/genre_profiles.csv`.
    GenreProfiles {
        #[arg(default_value = "../shared/data/raw/spotify-tracks-dataset-114k/by_genre")]
        path: PathBuf,
    },
}

pub async fn run(args: DemoArgs) -> Result<()> {
    match args.what {
        DemoCommand::GenreProfiles { path } => {
            let profiles = genre_profiles::compute(&path)
                .await
                .with_context(|| format!("computing genre profiles from {}", path.display()))?;
            print!("{}", genre_profiles::to_csv(&profiles));
            Ok(())
        }
    }
}
