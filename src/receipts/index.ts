export { createReceiptSigner, receiptFields, type ReceiptSigner, type ReceiptFields } from './sign';
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
export { signedReceipt, receiptPayload, RECEIPT_BATCH_TYPE, type SignedReceipt, type ReceiptPayload } from './receipt';
export { signDocument, verifyDocument, signedDocument, type SignedDocument, type DocumentCheck } from './document';
