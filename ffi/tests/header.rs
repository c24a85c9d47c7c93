//! The committed header `include/wireforms.h` is exactly what cbindgen
//! generates from the crate (the drift check). With `WIREFORMS_BLESS=1`
//! the test writes the header instead of comparing.

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/wireforms.h");
    let generated = generate();
    if std::env::var_os("WIREFORMS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ffi/include/wireforms.h is not what cbindgen generates from ffi/src: \
         regenerate it with `WIREFORMS_BLESS=1 cargo test -p wireforms-ffi --test header` \
         and commit it"
    );
}
