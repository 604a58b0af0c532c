import { main } from './agent-main.js';

await main(process.argv);
