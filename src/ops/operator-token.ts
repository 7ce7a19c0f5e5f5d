import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Checks an `Authorization` header against `server.operator_token` (SPEC §11): true only for
 * `Bearer <token>` with exactly that token. Both sides are hashed first, so the comparison
 * runs over equal lengths with `timingSafeEqual` and its time tells nothing about how much of
 * a guess was right, nor the token's length.
 */
export function operatorTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token)
  return (authorization) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
    // A missing token is compared too (with a digest that cannot match), so both paths cost the same.
    return timingSafeEqual(sha256(presented ?? ''), expected) && presented !== undefined
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
