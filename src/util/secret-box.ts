/**
 * Encrypts configuration secrets at rest (AES-256-GCM). The key comes from `SLUICE_SECRET_KEY` or from a key file
 * that Sluice generates in the data directory with mode 0600. Ciphertexts carry a version prefix so the scheme can
 * change later without guessing.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

const PREFIX = 'enc:v1:'

export interface SecretBox {
  encrypt(plain: string): string
  decrypt(sealed: string): string
  isSealed(value: string): boolean
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes')
  return {
    encrypt(plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
    },
    decrypt(sealed) {
      if (!sealed.startsWith(PREFIX)) return sealed
      const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64')
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      decipher.setAuthTag(raw.subarray(12, 28))
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
    },
    isSealed: (value) => value.startsWith(PREFIX),
  }
}

/**
 * A key given as text is hashed to 32 bytes, so any passphrase works; otherwise the key file is read, or created
 * with a random key.
 */
export async function loadSecretKey(options: { secretKey?: string; keyFile: string }): Promise<Buffer> {
  if (options.secretKey) return createHash('sha256').update(options.secretKey).digest()
  try {
    return Buffer.from((await readFile(options.keyFile, 'utf8')).trim(), 'base64')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = randomBytes(32)
  await mkdir(dirname(options.keyFile), { recursive: true })
  await writeFile(options.keyFile, key.toString('base64'), { mode: 0o600, flag: 'wx' })
  await chmod(options.keyFile, 0o600)
  return key
}
