//! Optional bearer-token authentication of gRPC calls.
//!
//! With a token configured (`fgf serve --auth-token-file FILE` or the
//! `FGF_AUTH_TOKEN` environment variable), every call to `fgf.v1.Tagger` and
//! to reflection must carry `authorization: Bearer <token>`; health checks
//! stay open so probes need no secret. The token is compared in constant
//! time (over SHA-256 digests, so its length does not leak either) and is
//! never logged.

use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use tonic::{Request, Status};

/// Environment variable holding the token (the file option wins).
pub const TOKEN_ENV: &str = "FGF_AUTH_TOKEN";

/// A configured token, kept only as its digest.
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

impl BearerToken {
    /// A token from its text (surrounding whitespace trimmed; must not be
    /// empty).
    pub fn new(token: &str) -> Result<Self> {
        let token = token.trim();
        if token.is_empty() {
            bail!("the auth token is empty");
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("the auth token must not contain whitespace or control characters");
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// The token from `file`, else from `FGF_AUTH_TOKEN`, else none.
    pub fn configured(file: Option<&Path>) -> Result<Option<Self>> {
        if let Some(file) = file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading auth token file {}", file.display()))?;
            return Self::new(&text)
                .with_context(|| format!("in auth token file {}", file.display()))
                .map(Some);
        }
        match std::env::var(TOKEN_ENV) {
            Ok(text) => Self::new(&text)
                .with_context(|| format!("in {TOKEN_ENV}"))
                .map(Some),
            Err(_) => Ok(None),
        }
    }

    /// True when `presented` is the token; constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.iter()
            .zip(&self.digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Checks a request's `authorization` header.
    #[allow(clippy::result_large_err)]
    pub fn check<T>(&self, request: Request<T>) -> Result<Request<T>, Status> {
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(token) if self.matches(token) => Ok(request),
            Some(_) => {
                tracing::warn!("call refused: wrong bearer token");
                Err(Status::unauthenticated("the bearer token is not accepted"))
            }
            None => Err(Status::unauthenticated(
                "this server needs a token: send the header 'authorization: Bearer <token>'",
            )),
        }
    }
}

/// The token a client sends: from `file`, else `FGF_AUTH_TOKEN`, else none.
pub fn client_token(file: Option<&Path>) -> Result<Option<String>> {
    let text = match file {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("reading auth token file {}", file.display()))?,
        None => match std::env::var(TOKEN_ENV) {
            Ok(t) => t,
            Err(_) => return Ok(None),
        },
    };
    BearerToken::new(&text)?;
    Ok(Some(text.trim().to_string()))
}

/// Adds `authorization: Bearer <token>` to a client request.
pub fn authorize<T>(request: &mut Request<T>, token: &str) -> Result<()> {
    let value = format!("Bearer {token}")
        .parse()
        .context("the auth token is not a valid header value")?;
    request.metadata_mut().insert("authorization", value);
    Ok(())
}

/// `message` as a client request, with the bearer token when there is one.
/// The token was checked by [`client_token`], so it is a valid header value.
pub fn request_with<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        let _ = authorize(&mut request, token);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_token() {
        let t = BearerToken::new(" s3cret\n").unwrap();
        assert!(t.matches("s3cret"));
        assert!(!t.matches("s3cre"));
        assert!(!t.matches("s3cret "));
        assert!(BearerToken::new("  ").is_err());
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn requests_without_or_with_a_wrong_token_are_refused() {
        let t = BearerToken::new("abc").unwrap();
        assert!(t.check(Request::new(())).is_err());
        let mut wrong = Request::new(());
        authorize(&mut wrong, "abd").unwrap();
        assert_eq!(
            t.check(wrong).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let mut right = Request::new(());
        authorize(&mut right, "abc").unwrap();
        assert!(t.check(right).is_ok());
    }
}
