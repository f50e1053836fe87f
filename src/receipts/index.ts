export { createReceiptSigner, receiptFields, type ReceiptSigner } from './sign';
export { verifyReceipt, type ReceiptCheck } from './verify';
export {
  ensureSigningKey,
  openSigningKey,
  rotateSigningKey,
  listSigningKeys,
  publishedKeys,
  toPublicJwk,
  isEncrypted,
  privateKeyOf,
  SigningKeyLockedError,
  type KeyProtection,
  type KeySet,
  type PublicJwk,
} from './keys';
export { receiptKeysRouter } from './routes';
export { signedReceipt, receiptPayload, type SignedReceipt, type ReceiptPayload } from './receipt';
export { signDocument, verifyDocument, signedDocument, type SignedDocument, type DocumentCheck } from './document';
