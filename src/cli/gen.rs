//! Shell completions and man pages of every tool, generated from their clap definitions
//! (`sekit-gen`), and the record-format page sekit-format(7).

use super::args;
use clap::{Command, CommandFactory};
use clap_complete::Shell;
use std::io;
use std::path::{Path, PathBuf};

/// The command line of every binary, by name.
pub fn commands() -> Vec<Command> {
    vec![
        args::seextract::Args::command(),
        args::sefollow::Args::command(),
        args::sedecode::Args::command(),
        args::se2csv::Args::command(),
        args::se2state::Args::command(),
        args::sereplay::Args::command(),
        args::selog::Args::command(),
        args::seserve::Args::command(),
        args::sekit_gen::Args::command(),
    ]
}

/// The record formats (docs/FORMAT.md), shipped in the binary for sekit-format(7).
const FORMAT_DOC: &str = include_str!("../../docs/FORMAT.md");

/// Writes the completions and man pages of every tool under `dir` (layout in `sekit-gen
/// --help`); returns the files written.
pub fn generate(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let man1 = dir.join("man").join("man1");
    let man7 = dir.join("man").join("man7");
    for d in [&man1, &man7] {
        std::fs::create_dir_all(d)?;
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let d = dir.join("completions").join(shell.to_string());
        std::fs::create_dir_all(&d)?;
        for mut cmd in commands() {
            let name = cmd.get_name().to_string();
            written.push(clap_complete::generate_to(shell, &mut cmd, name, &d)?);
        }
    }
    for cmd in commands() {
        let mut cmd = cmd;
        cmd.build();
        written.push(man_page(&cmd, cmd.get_name(), &man1)?);
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = format!("{}-{}", cmd.get_name(), sub.get_name());
            written.push(man_page(sub, &name, &man1)?);
        }
    }
    let p = man7.join("sekit-format.7");
    std::fs::write(&p, format_page(FORMAT_DOC))?;
    written.push(p);
    Ok(written)
}

/// Writes `cmd`'s man page as DIR/NAME.1.
fn man_page(cmd: &Command, name: &str, dir: &Path) -> io::Result<PathBuf> {
    let cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    let p = dir.join(format!("{name}.1"));
    std::fs::write(&p, out)?;
    Ok(p)
}

/// A Markdown document as a man page of section 7: the text as it is, without filling, with
/// the characters roff would interpret escaped.
pub fn format_page(markdown: &str) -> String {
    let mut s = String::from(
        ".TH SEKIT-FORMAT 7 \"\" \"sekit\" \"sekit\"\n.SH NAME\nsekit-format \\- the JSON Lines records written and read by the sekit tools\n.SH DESCRIPTION\n.nf\n",
    );
    for line in markdown.lines() {
        let line = line.replace('\\', "\\e");
        if line.starts_with('.') || line.starts_with('\'') {
            s.push_str("\\&");
        }
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(".fi\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_page_escapes_roff() {
        let p = format_page("a\\b\n.x\n'y\nplain");
        assert!(p.contains("\na\\eb\n\\&.x\n\\&'y\nplain\n.fi\n"), "{p}");
    }

    #[test]
    fn every_binary_has_a_command() {
        let mut names: Vec<String> = commands()
            .iter()
            .map(|c| c.get_name().to_string())
            .collect();
        names.sort();
        let mut bins: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
                .unwrap()
                .map(|e| {
                    let p = e.unwrap().path();
                    p.file_stem().unwrap().to_string_lossy().into_owned()
                })
                .collect();
        bins.sort();
        assert_eq!(names, bins);
    }
}
