/**
 * `nws-watermark <component>`: one executable, one container image, one entry point per component.
 */
const USAGE = `Usage: nws-watermark <command>

Commands:
  api        HTTP api and web page (port 3000)
  optimizer  sharp watermarking service (port 3001)
  worker     RabbitMQ retry worker (health and metrics on port 3002)
  controller queue-depth autoscaler of the workers: QueueScalers in Kubernetes, or local
             worker processes with CONTROLLER_MODE=local (port 3003)
  s3         embedded S3 endpoint for local runs (port 9000)
  stack      everything above on this machine, supervised

Configuration comes from environment variables; see README.md.`;

const commands: Record<string, () => Promise<void>> = {
  api: async () => (await import('./api/server.js')).runApi(),
  optimizer: async () => (await import('./optimizer/server.js')).runOptimizer(),
  worker: async () => (await import('./worker/server.js')).runWorker(),
  controller: async () => (await import('./controller/server.js')).runController(),
  s3: async () => (await import('./stack/s3-endpoint.js')).runS3Endpoint(),
  stack: async () => (await import('./stack/stack.js')).runStack(),
};

const [command] = process.argv.slice(2);
const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write(`${command && command !== '--help' && command !== '-h' ? `Unknown command "${command}"\n\n` : ''}${USAGE}\n`);
  process.exit(command === '--help' || command === '-h' ? 0 : 64);
} else {
  run().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
