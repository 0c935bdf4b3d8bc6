//! Optional bearer-token authentication of gRPC calls.
//!
//! With a token configured (`fgf serve --auth-token-file FILE` or the
//! `FGF_AUTH_TOKEN` environment variable), every call to `fgf.v1.Tagger`
//! must carry `authorization: Bearer <token>`; health checks and reflection
//! stay open, so probes need no secret and grpcurl (which resolves every
//! method by reflection, health included) can check health without one. The scheme is case-insensitive
//! (`bearer`, `BEARER`), as RFC 7235 says. The token is compared in constant
//! time (over SHA-256 digests, so its length does not leak either) and is
//! never logged; a refused call is logged (peer, rpc, reason) and counted in
//! `fgf_auth_failures_total{reason}` by the server.

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
        token_text(file)?
            .map(|(text, from)| Self::new(&text).with_context(|| format!("in {from}")))
            .transpose()
    }

    /// True when `presented` is the token; constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let d: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        d.iter()
            .zip(&self.digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Checks the value of an `authorization` header (`None`: no header).
    pub fn verify(&self, header: Option<&[u8]>) -> Result<(), AuthFailure> {
        let header = header.ok_or(AuthFailure::Missing)?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(bearer_credentials)
            .ok_or(AuthFailure::Malformed)?;
        if self.matches(token) {
            Ok(())
        } else {
            Err(AuthFailure::WrongToken)
        }
    }

    /// Checks a request's `authorization` header.
    #[allow(clippy::result_large_err)]
    pub fn check<T>(&self, request: Request<T>) -> Result<Request<T>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes());
        match self.verify(header) {
            Ok(()) => Ok(request),
            Err(why) => Err(why.status()),
        }
    }
}

/// The token of an `authorization` header value `Bearer <token>`. The
/// scheme is case-insensitive (RFC 7235 section 2.1, RFC 6750), so `bearer`
/// and `BEARER` do too; one or more spaces separate it from the token.
pub fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Why a call was refused for its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `authorization` header.
    Missing,
    /// A header that is not `Bearer <token>` (another scheme, no token).
    Malformed,
    /// A bearer token that is not the server's.
    WrongToken,
}

impl AuthFailure {
    /// Every reason, in the order of [`AuthFailure::index`].
    pub const ALL: [AuthFailure; 3] = [
        AuthFailure::Missing,
        AuthFailure::Malformed,
        AuthFailure::WrongToken,
    ];

    /// The `reason` label of `fgf_auth_failures_total` and of the log line.
    pub fn name(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::WrongToken => "wrong_token",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The UNAUTHENTICATED status the caller gets, saying what to send.
    pub fn status(self) -> Status {
        Status::unauthenticated(match self {
            AuthFailure::Missing => {
                "this server needs a token: send the header 'authorization: Bearer <token>'"
            }
            AuthFailure::Malformed => {
                "the authorization header must be 'Bearer <token>' (scheme Bearer, a space, the token)"
            }
            AuthFailure::WrongToken => "the bearer token is not accepted",
        })
    }
}

/// The token a client sends: from `file`, else `FGF_AUTH_TOKEN`, else none.
pub fn client_token(file: Option<&Path>) -> Result<Option<String>> {
    let Some((text, from)) = token_text(file)? else {
        return Ok(None);
    };
    BearerToken::new(&text).with_context(|| format!("in {from}"))?;
    Ok(Some(text.trim().to_string()))
}

/// The token text from `file`, else from `FGF_AUTH_TOKEN`, else none, with
/// where it came from (for messages); the one place both sides read it.
fn token_text(file: Option<&Path>) -> Result<Option<(String, String)>> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading auth token file {}", file.display()))?;
        return Ok(Some((text, format!("auth token file {}", file.display()))));
    }
    Ok(std::env::var(TOKEN_ENV)
        .ok()
        .map(|text| (text, TOKEN_ENV.to_string())))
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

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let t = BearerToken::new("abc").unwrap();
        for header in [
            "Bearer abc",
            "bearer abc",
            "BEARER abc",
            "bEaReR  abc",
            " Bearer abc ",
        ] {
            assert_eq!(t.verify(Some(header.as_bytes())), Ok(()), "{header:?}");
            let mut req = Request::new(());
            req.metadata_mut()
                .insert("authorization", header.trim().parse().unwrap());
            assert!(t.check(req).is_ok(), "{header:?}");
        }
        assert_eq!(t.verify(None), Err(AuthFailure::Missing));
        for header in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "abc",
            "Token abc",
        ] {
            assert_eq!(
                t.verify(Some(header.as_bytes())),
                Err(AuthFailure::Malformed),
                "{header:?}"
            );
        }
        assert_eq!(t.verify(Some(b"bearer abd")), Err(AuthFailure::WrongToken));
        assert_eq!(t.verify(Some(b"Bearer \xff")), Err(AuthFailure::Malformed));
    }
}
