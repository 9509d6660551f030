// Entry of the web GUI: take the admin token from the URL, then render the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { captureToken } from './api.js';
import { App } from './App.js';
import { capturePanelToken } from './panel-api.js';
import './styles.css';

captureToken();
capturePanelToken();
const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
