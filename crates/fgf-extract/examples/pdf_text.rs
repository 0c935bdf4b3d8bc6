//! Prints the text `fgf-extract` reads from a PDF: `cargo run --example pdf_text -- FILE.pdf`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: pdf_text FILE.pdf");
    let bytes = std::fs::read(&path).expect("reading the file");
    match fgf_extract::pdf::pdf_to_text(&bytes) {
        Ok(text) => print!("{text}"),
        Err(e) => eprintln!("{path}: {e}"),
    }
}
