//! Handshake failures described as Go describes them, for the log lines operators grep.
//!
//! When the other end refuses a handshake it sends a TLS alert; rustls reports it as
//! "received fatal alert: BadCertificate", Go (and so etcd's logs, and the tests and runbooks
//! written against them) as "remote error: tls: bad certificate". The log lines of refused and
//! failed handshakes use Go's words for received alerts and rustls's for everything else.

use std::io;
use tokio_rustls::rustls::{AlertDescription, Error};

/// A failed handshake's error, with a received alert in Go's words.
pub fn describe(error: &io::Error) -> String {
    match error.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::AlertReceived(alert)) => format!("remote error: tls: {}", go_name(*alert)),
        _ => error.to_string(),
    }
}

/// Go's name of an alert (crypto/tls `alertText`).
fn go_name(alert: AlertDescription) -> String {
    let name = match alert {
        AlertDescription::CloseNotify => "close notify",
        AlertDescription::UnexpectedMessage => "unexpected message",
        AlertDescription::BadRecordMac => "bad record MAC",
        AlertDescription::DecryptionFailed => "decryption failed",
        AlertDescription::RecordOverflow => "record overflow",
        AlertDescription::DecompressionFailure => "decompression failure",
        AlertDescription::HandshakeFailure => "handshake failure",
        AlertDescription::BadCertificate => "bad certificate",
        AlertDescription::UnsupportedCertificate => "unsupported certificate",
        AlertDescription::CertificateRevoked => "revoked certificate",
        AlertDescription::CertificateExpired => "expired certificate",
        AlertDescription::CertificateUnknown => "unknown certificate",
        AlertDescription::IllegalParameter => "illegal parameter",
        AlertDescription::UnknownCA => "unknown certificate authority",
        AlertDescription::AccessDenied => "access denied",
        AlertDescription::DecodeError => "error decoding message",
        AlertDescription::DecryptError => "error decrypting message",
        AlertDescription::ProtocolVersion => "protocol version not supported",
        AlertDescription::InsufficientSecurity => "insufficient security level",
        AlertDescription::InternalError => "internal error",
        AlertDescription::InappropriateFallback => "inappropriate fallback",
        AlertDescription::UserCanceled => "user canceled",
        AlertDescription::NoRenegotiation => "no renegotiation",
        AlertDescription::MissingExtension => "missing extension",
        AlertDescription::UnsupportedExtension => "unsupported extension",
        AlertDescription::UnrecognisedName => "unrecognized name",
        AlertDescription::BadCertificateStatusResponse => "bad certificate status response",
        AlertDescription::UnknownPSKIdentity => "unknown PSK identity",
        AlertDescription::CertificateRequired => "certificate required",
        AlertDescription::NoApplicationProtocol => "no application protocol",
        other => return format!("alert({})", u8::from(other)),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_alert_is_described_in_go_s_words_and_other_errors_as_they_are() {
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            Error::AlertReceived(AlertDescription::BadCertificate),
        );
        assert_eq!(describe(&alert), "remote error: tls: bad certificate");
        let other = io::Error::new(io::ErrorKind::InvalidData, Error::DecryptError);
        assert_eq!(describe(&other), Error::DecryptError.to_string());
        let plain = io::Error::other("connection reset");
        assert_eq!(describe(&plain), "connection reset");
    }
}
