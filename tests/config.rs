//! Configuration files, INFERNO_* variables and flags, through the real binary.

mod common;

use common::*;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap()
}

/// A run that reports its resolved settings through --json.
fn settings_of(inferno: Inferno, extra: &[&str]) -> serde_json::Value {
    json(
        &inferno
            .args(["run", "--raw", "-n", "1", "-p", "Hi", "--json"])
            .args(extra)
            .run()
            .ok(),
    )
}

#[test]
fn precedence_flag_env_project_user() {
    let inf = Inferno::new();
    let dir = inf.dir().to_path_buf();
    std::fs::create_dir_all(dir.join("config/inferno")).unwrap();
    std::fs::write(
        dir.join("config/inferno/config.toml"),
        format!(
            "default_model = \"{}\"\n[backend_config]\ncontext_size = 256\nbatch_size = 64\nthreads = 1\n",
            model(GEMMA).display()
        ),
    )
    .unwrap();
    // The user file alone.
    let j = settings_of(inf, &[]);
    assert_eq!(
        (
            j["context_size"].as_u64(),
            j["batch_size"].as_u64(),
            j["threads"].as_u64()
        ),
        (Some(256), Some(64), Some(1))
    );
    assert!(j["model"].as_str().unwrap().ends_with(GEMMA));

    // ./.inferno.toml beats the user file, INFERNO_* beats both, flags beat everything.
    let inf = Inferno::new();
    let dir = inf.dir().to_path_buf();
    std::fs::create_dir_all(dir.join("config/inferno")).unwrap();
    std::fs::write(
        dir.join("config/inferno/config.toml"),
        format!("default_model = \"{}\"\n[backend_config]\ncontext_size = 256\nbatch_size = 64\nthreads = 1\n", model(GEMMA).display()),
    )
    .unwrap();
    std::fs::write(
        dir.join(".inferno.toml"),
        "[backend_config]\ncontext_size = 512\nbatch_size = 128\n[sampling]\nseed = 7\n",
    )
    .unwrap();
    let j = settings_of(
        inf.env("INFERNO_BATCH_SIZE", "32").env("INFERNO_SEED", "9"),
        &["--seed", "11"],
    );
    assert_eq!(j["context_size"], 512, "project file beats user file");
    assert_eq!(j["batch_size"], 32, "environment beats files");
    assert_eq!(j["threads"], 1, "user file still applies");
    assert_eq!(j["seed"], 11, "flag beats environment");
}

#[test]
fn explicit_config_replaces_the_project_file() {
    let inf = Inferno::new();
    let dir = inf.dir().to_path_buf();
    std::fs::write(
        dir.join(".inferno.toml"),
        "[backend_config]\ncontext_size = 512\n",
    )
    .unwrap();
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        format!(
            "default_model = \"{}\"\n[backend_config]\ncontext_size = 768\n",
            model(GEMMA).display()
        ),
    )
    .unwrap();
    let j = settings_of(inf, &["--config", other.to_str().unwrap()]);
    // llama.cpp rounds the context up to a multiple of 256; 768 is one.
    assert_eq!(j["context_size"], 768);
}

#[test]
fn strict_parsing_names_file_line_and_key() {
    let inf = Inferno::new();
    std::fs::write(
        inf.dir().join(".inferno.toml"),
        "[backend_config]\ncontext_size = 512\ncontex_size = 1\n",
    )
    .unwrap();
    inf.args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(
            3,
            ".inferno.toml: line 3, column 1: unknown key backend_config.contex_size; known keys here are",
        );

    let inf = Inferno::new();
    std::fs::write(
        inf.dir().join(".inferno.toml"),
        "[sampling]\ntemp = \"hot\"\n",
    )
    .unwrap();
    inf.args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(
            3,
            "line 2, column 8: sampling.temp: expected a number, found the string \"hot\"",
        );

    let inf = Inferno::new();
    std::fs::write(inf.dir().join(".inferno.toml"), "[sampling\n").unwrap();
    inf.args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(3, "line 1");

    Inferno::new()
        .args(["--config", "/nonexistent/inferno.toml", "run", "-p", "x"])
        .run()
        .fails(3, "/nonexistent/inferno.toml does not exist");
    Inferno::new()
        .env("INFERNO_TEMPERATURE", "0")
        .args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(3, "unknown environment variable INFERNO_TEMPERATURE");
    Inferno::new()
        .env("INFERNO_THREADS", "lots")
        .args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(3, "INFERNO_THREADS");
}

#[test]
fn out_of_range_values_in_files_exit_2() {
    let inf = Inferno::new();
    std::fs::write(inf.dir().join(".inferno.toml"), "[sampling]\ntop_p = 2.0\n").unwrap();
    inf.args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "x"])
        .run()
        .fails(2, "sampling.top_p");
}

#[test]
fn the_example_config_parses_and_runs() {
    let inf = Inferno::new();
    std::fs::copy(
        root().join(".inferno.toml.example"),
        inf.dir().join(".inferno.toml"),
    )
    .unwrap();
    let j = settings_of(inf, &["-m", model(GEMMA).to_str().unwrap()]);
    assert_eq!(j["context_size"], 2048);
    assert_eq!(j["batch_size"], 512);
}

/// README's configuration table shows the defaults the program uses (defined once, in
/// `config::defaults`).
#[test]
fn readme_defaults_are_the_programs() {
    use inferno::config::defaults::text as d;
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let want = [
        ("backend_config.context_size", d::CONTEXT_SIZE),
        ("backend_config.batch_size", d::BATCH_SIZE),
        ("sampling.temp", d::TEMP),
        ("sampling.top_k", d::TOP_K),
        ("sampling.top_p", d::TOP_P),
        ("sampling.min_p", d::MIN_P),
        ("sampling.repeat_penalty", d::REPEAT_PENALTY),
        ("sampling.repeat_last_n", d::REPEAT_LAST_N),
        ("speculative.draft_max", d::DRAFT_MAX),
        ("speculative.draft_min", d::DRAFT_MIN),
        ("speculative.draft_p_min", d::DRAFT_P_MIN),
        ("speculative.lookup_ngram", d::LOOKUP_NGRAM),
    ];
    for (key, value) in want {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("README has no row for {key}"));
        let default = row.trim_end_matches('|').rsplit('|').next().unwrap().trim();
        assert_eq!(
            default.parse::<f64>().unwrap(),
            value.parse::<f64>().unwrap(),
            "{key}: {row}"
        );
    }
}
