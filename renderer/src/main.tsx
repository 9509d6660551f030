// Entry of the web GUI: take a token from the URL (`#token=`), then render the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { captureToken } from './api.js';
import { App } from './App.js';
import { capturePanelToken } from './panel-api.js';
import { session } from './session.js';
import './styles.css';

captureToken();
capturePanelToken();
// The same address opened again with a token (the tab was already showing the GUI): use it.
window.addEventListener('hashchange', () => {
  if (captureToken()) session.start();
});
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
