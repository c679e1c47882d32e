import { startSandbox } from '@pacspace-metering/sandbox';
const sb = await startSandbox({ port: 4555, apiKey: 'pk_test_bench.0123456789abcdef', maxRequestLog: 100 });
console.log(sb.url);
