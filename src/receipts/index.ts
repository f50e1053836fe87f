export { createReceiptSigner, receiptFields, type ReceiptSigner } from './sign';
export { verifyReceipt, type ReceiptCheck } from './verify';
export { ensureSigningKey, rotateSigningKey, listSigningKeys, publishedKeys, toPublicJwk, type KeySet, type PublicJwk } from './keys';
export { receiptKeysRouter } from './routes';
export { signedReceipt, receiptPayload, type SignedReceipt, type ReceiptPayload } from './receipt';
