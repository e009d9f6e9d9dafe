/**
 * Which kafkajs errors are refusals: the cluster refused relengd's credentials, permissions or
 * settings, so trying again cannot help. Starting fails on one with the reason (exit, not a retry
 * loop), and a consumer that crashes with one is not restarted.
 *
 * Everything else is worth another try, even what kafkajs itself gives up on: a broker may answer
 * a member's SyncGroup during a rebalance with an error kafkajs deems non-retriable
 * (UNKNOWN_SERVER_ERROR when storing the assignment failed; librdkafka's mock cluster answers
 * INVALID_REQUEST to a follower that syncs after the leader), where Kafka's own clients just rejoin.
 */
import kafkajs from 'kafkajs';

// From the default export: kafkajs spreads its error classes into module.exports, which Node's
// named-export detection for CommonJS does not see.
const { KafkaJSConnectionError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;

/** Broker error types that refuse relengd rather than fail a request. */
const REFUSED_PROTOCOL_ERRORS: ReadonlySet<string> = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'SECURITY_DISABLED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
  // Settings the cluster does not accept (group id, session timeout outside the broker's bounds,
  // a group another application uses with another protocol, a broker too old for kafkajs).
  'INVALID_GROUP_ID',
  'INVALID_SESSION_TIMEOUT',
  'INCONSISTENT_GROUP_PROTOCOL',
  'UNSUPPORTED_VERSION',
]);

/** Node's codes for a TLS peer relengd does not trust, or that does not trust relengd. */
const TLS_VERIFY_ERRORS: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True when `error`, or an error in its cause chain, is a refusal (see above). */
export function isRefusal(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof KafkaJSSASLAuthenticationError) return true;
    if (e instanceof KafkaJSProtocolError && REFUSED_PROTOCOL_ERRORS.has(e.type)) return true;
    if (e instanceof KafkaJSConnectionError && isTlsRefusal((e as { code?: unknown }).code)) return true;
  }
  return false;
}

function isTlsRefusal(code: unknown): boolean {
  // ERR_SSL_*: OpenSSL's handshake failures (an alert from the broker, TLS against a plaintext listener).
  return typeof code === 'string' && (TLS_VERIFY_ERRORS.has(code) || code.startsWith('ERR_SSL_'));
}
