#pragma once
// Ed25519 signatures (RFC 8032, libsodium's strict verification).
#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"

namespace relay::crypto {

Ed25519Signature sign(const Ed25519SecretKey& secret_key, ByteView message);
// False for any malformed key or signature, never throws.
bool verify(const Ed25519PublicKey& public_key, ByteView message, const Ed25519Signature& sig);

}  // namespace relay::crypto
