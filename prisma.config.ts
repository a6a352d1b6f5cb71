import { defineConfig } from 'prisma/config';

// Prisma 7 reads the connection for its CLI from here. `prisma generate` needs none; the
// service itself connects through @prisma/adapter-mariadb (src/infra/db.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'mysql://paysvc:paysvc@127.0.0.1:3306/paysvc' },
});
