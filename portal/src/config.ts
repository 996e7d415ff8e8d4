// The deployment's settings for the browser, served by the edge at /config.json.

export interface PortalConfig {
  environment: string;
  dev_sign_in: boolean;
  oidc: { issuer: string; client_id: string; scope: string } | null;
  temporal_ui_url: string | null;
  agency: { name: string };
}

export async function loadConfig(): Promise<PortalConfig> {
  const response = await fetch("/config.json", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  return (await response.json()) as PortalConfig;
}
