/** Runs once before the suite. Services are ensured in later commits (see src/stack/services.ts). */
export default async function setup(): Promise<void> {}
