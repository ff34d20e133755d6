import type Database from 'better-sqlite3';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { conflict, notFound } from '../../shared/errors.js';
import type { Role } from '../../shared/domain.js';
import { isUniqueViolation } from './sqlite-errors.js';

export type TokenRole = Role;

/** A token as listed: never its secret, which is shown once by `create` and not stored. */
export interface Token {
  name: string;
  role: TokenRole;
  createdAt: number;
  revokedAt: number | null;
}

export interface CreatedToken {
  name: string;
  role: TokenRole;
  /** `mlp_` + 32 random bytes, base64url. Only its sha256 is stored. */
  secret: string;
}

interface TokenRow {
  name: string;
  role: TokenRole;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

const toToken = (r: TokenRow): Token => ({ name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at });

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export class TokensRepository {
  private readonly insert: Database.Statement<TokenRow>;
  private readonly selectLive: Database.Statement<[], Pick<TokenRow, 'name' | 'role' | 'hash'>>;
  private readonly selectAll: Database.Statement<[], TokenRow>;
  private readonly setRevoked: Database.Statement<{ name: string; at: number }>;
  private readonly selectOne: Database.Statement<[string], TokenRow>;
  private readonly selectIsLive: Database.Statement<[string], { live: 1 }>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO tokens (name, role, hash, created_at, revoked_at) VALUES (:name, :role, :hash, :created_at, :revoked_at)`);
    this.selectLive = db.prepare('SELECT name, role, hash FROM tokens WHERE revoked_at IS NULL');
    this.selectAll = db.prepare('SELECT * FROM tokens ORDER BY created_at, name');
    this.setRevoked = db.prepare('UPDATE tokens SET revoked_at = coalesce(revoked_at, :at) WHERE name = :name');
    this.selectOne = db.prepare('SELECT * FROM tokens WHERE name = ?');
    this.selectIsLive = db.prepare('SELECT 1 AS live FROM tokens WHERE name = ? AND revoked_at IS NULL');
  }

  /** Creates a token and returns its secret, the only time it is available. Names are never reused. */
  create(name: string, role: TokenRole, at?: number): CreatedToken {
    const secret = `mlp_${randomBytes(32).toString('base64url')}`;
    try {
      this.insert.run({ name, role, hash: sha256(secret).toString('hex'), created_at: at ?? this.now(), revoked_at: null });
    } catch (err) {
      if (isUniqueViolation(err) && this.selectOne.get(name)) throw conflict(`a token named ${name} already exists`);
      throw err;
    }
    return { name, role, secret };
  }

  /**
   * The live token a secret belongs to, or null. Compares digests in constant time against every
   * live token, never stopping early, so timing reveals nothing about the secret's content.
   */
  verify(secret: string): { name: string; role: TokenRole } | null {
    const digest = sha256(secret);
    let match: { name: string; role: TokenRole } | null = null;
    for (const t of this.selectLive.all()) {
      if (timingSafeEqual(digest, Buffer.from(t.hash, 'hex')) && match === null) match = { name: t.name, role: t.role };
    }
    return match;
  }

  /**
   * Whether the token of this name exists and is not revoked: what an open session re-checks, since
   * `mlpd token revoke` writes the store from another process. A primary-key lookup.
   */
  isLive(name: string): boolean {
    return this.selectIsLive.get(name) !== undefined;
  }

  list(): Token[] {
    return this.selectAll.all().map(toToken);
  }

  /** Revokes a token for good; revoking twice keeps the first time. */
  revoke(name: string, at?: number): void {
    if (this.setRevoked.run({ name, at: at ?? this.now() }).changes === 0) throw notFound(`no token named ${name}`);
  }
}
