#include "node/identity/scoped_pseudonym.hpp"

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"

namespace relay::node::identity {

std::string scoped_pseudonym(const KeyRing& keys, std::string_view scope,
                             std::string_view pseudonym) {
  auto current = keys.current();
  std::string material = "ledger/";
  material.append(scope).append("/").append(pseudonym);
  return crypto::to_hex_public(
      crypto::blake2b_keyed(current->pseudonym_key, crypto::as_bytes(material)));
}

std::string member_pseudonym(const KeyRing& keys, std::string_view member_id,
                             std::string_view pseudonym) {
  return scoped_pseudonym(keys, "member/" + std::string(member_id), pseudonym);
}

std::string peer_pseudonym(const KeyRing& keys, std::string_view peer_name,
                           std::string_view pseudonym) {
  return scoped_pseudonym(keys, "peer/" + std::string(peer_name), pseudonym);
}

}  // namespace relay::node::identity
