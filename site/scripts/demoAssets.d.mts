/** The URLs (site-absolute) of what the QLoRA demo loads: src/qloraDemo/protocol.ts' DemoAssets. */
export interface DemoAssetUrls { trainWorker: string; sqlWorker: string; model: string; train: string; task: string; tfjsWasm: string; sqlWasm: string }
export declare function writeDemoAssets(repo: string, site: string, out?: string): Promise<DemoAssetUrls>;
