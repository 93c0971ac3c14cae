/** Prints an HS256 token for the benchmark user. */
import { SignJWT } from 'jose'
const secret = new TextEncoder().encode(process.env.AUTH_JWT_SECRET!)
console.log(
  await new SignJWT({ email: 'bench@example.com' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench-user')
    .setExpirationTime('2h')
    .sign(secret),
)
